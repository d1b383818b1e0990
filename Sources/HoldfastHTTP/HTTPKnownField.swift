/// The header fields the server reads on (almost) every request: the framing fields and those of a WebSocket
/// upgrade. The parser recognises them once, as each field line is read, so finding one later costs an index
/// lookup rather than a case-insensitive comparison against every field of the request.
public enum HTTPKnownField: Int, Sendable, CaseIterable {
    case host
    case contentLength
    case transferEncoding
    case connection
    case upgrade
    case origin
    case secWebSocketKey
    case secWebSocketVersion
    case secWebSocketProtocol
    case secWebSocketExtensions

    /// The field's name as written in RFC 9110 and RFC 6455.
    public var name: String {
        switch self {
        case .host: "Host"
        case .contentLength: "Content-Length"
        case .transferEncoding: "Transfer-Encoding"
        case .connection: "Connection"
        case .upgrade: "Upgrade"
        case .origin: "Origin"
        case .secWebSocketKey: "Sec-WebSocket-Key"
        case .secWebSocketVersion: "Sec-WebSocket-Version"
        case .secWebSocketProtocol: "Sec-WebSocket-Protocol"
        case .secWebSocketExtensions: "Sec-WebSocket-Extensions"
        }
    }

    /// The known field `name` is, ignoring ASCII case, or nil. Chosen by length first, then one comparison a
    /// word at a time: every field line of every request passes through here.
    ///
    /// Exact for any bytes: a letter of a known name matches only itself in either case, and `-` only itself. So
    /// a name recognised here is a token, and the in-place reader needs no other check of a known name's bytes.
    static func recognize(_ name: UnsafeRawBufferPointer) -> HTTPKnownField? {
        switch name.count {
        case 4: return equalsLowercased(name, "host") ? .host : nil
        case 6: return equalsLowercased(name, "origin") ? .origin : nil
        case 7: return equalsLowercased(name, "upgrade") ? .upgrade : nil
        case 10: return equalsLowercased(name, "connection") ? .connection : nil
        case 14: return equalsLowercased(name, "content-length") ? .contentLength : nil
        case 17:
            if equalsLowercased(name, "sec-websocket-key") { return .secWebSocketKey }
            return equalsLowercased(name, "transfer-encoding") ? .transferEncoding : nil
        case 21: return equalsLowercased(name, "sec-websocket-version") ? .secWebSocketVersion : nil
        case 22: return equalsLowercased(name, "sec-websocket-protocol") ? .secWebSocketProtocol : nil
        case 24: return equalsLowercased(name, "sec-websocket-extensions") ? .secWebSocketExtensions : nil
        default: return nil
        }
    }

    /// Whether `name` equals `lowercase` (at least 4 bytes, lowercase letters and `-`) ignoring ASCII case.
    @inline(__always)
    private static func equalsLowercased(_ name: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        let wanted = UnsafeRawPointer(lowercase.utf8Start)
        let count = name.count
        let bytes = name.baseAddress!
        if count < 8 {
            // Two 4-byte words, overlapping, compared as one.
            let word = UInt64(bytes.loadUnaligned(as: UInt32.self)) << 32
                | UInt64(bytes.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            let goal = UInt64(wanted.loadUnaligned(as: UInt32.self)) << 32
                | UInt64(wanted.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            return matches(word, goal)
        }
        var offset = 0
        while true {
            // The last word overlaps the one before it when the length is not a multiple of 8.
            let at = min(offset, count - 8)
            let word = bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)
            guard matches(word, wanted.loadUnaligned(fromByteOffset: at, as: UInt64.self)) else { return false }
            offset += 8
            if offset >= count { return true }
        }
    }

    /// Whether each byte of `word` is the byte of `goal` (a lowercase letter or `-`), a letter in either case.
    @inline(__always)
    private static func matches(_ word: UInt64, _ goal: UInt64) -> Bool {
        // 0x20 where `goal` holds a letter (0x61-0x7A, bit 6 set), 0 where it holds `-` (0x2D): OR-ing it in folds
        // a capital onto its letter and nothing else onto a letter, and leaves `-` to match only itself (a bare
        // OR of 0x20 everywhere would also fold CR, 0x0D, onto `-`).
        let fold = (goal & 0x4040_4040_4040_4040) >> 1
        return word | fold == goal
    }
}

/// Where the first field of each ``HTTPKnownField`` lies in a request's field list, and which of them appear more
/// than once. Fixed size (12 bytes), so it costs a request no allocation.
struct HTTPKnownFieldIndex: Sendable {
    /// Position in the field list plus one, per known field (0: absent).
    private var positions: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Bit `field.rawValue` is set when the field appears more than once.
    private(set) var repeated: UInt16 = 0

    /// Records that field number `position` of the request is `field`.
    @inline(__always)
    mutating func record(_ field: HTTPKnownField, at position: Int) {
        let slot = field.rawValue
        // A position past 8 bits (only under a field limit above the default 64) counts as repeated: lookups of that
        // field then scan every name.
        let stored = withUnsafeMutableBytes(of: &positions) { slots -> Bool in
            guard slots[slot] == 0, position < Int(UInt8.max) else { return false }
            slots[slot] = UInt8(position + 1)
            return true
        }
        if !stored { repeated |= 1 << UInt16(slot) }
    }

    /// The position in the field list of the first `field`, or nil when the request has none.
    @inline(__always)
    func first(_ field: HTTPKnownField) -> Int? {
        let stored = withUnsafeBytes(of: positions) { $0[field.rawValue] }
        return stored == 0 ? nil : Int(stored) - 1
    }

    /// Whether `field` appears more than once (or could not be indexed): its lookups scan every field.
    @inline(__always)
    func isRepeated(_ field: HTTPKnownField) -> Bool { repeated & (1 << UInt16(field.rawValue)) != 0 }
}

extension HTTPKnownFieldIndex {
    /// Calls `body` with the position of each `field` among `fields`, in order, until it returns false: the
    /// indexed position alone, or a scan of every field's name when the field repeats.
    func forEach(_ field: HTTPKnownField, in fields: [HTTPFieldRange], head: [UInt8], _ body: (Int) -> Bool) {
        guard isRepeated(field) else {
            if let position = first(field) { _ = body(position) }
            return
        }
        head.withUnsafeBytes { head in
            for position in fields.indices {
                let name = UnsafeRawBufferPointer(rebasing: head[fields[position].name])
                // Only a token can be a known field (a request built from parts may carry any name).
                guard HTTPByteScan.isToken(name), HTTPKnownField.recognize(name) == field else { continue }
                if !body(position) { return }
            }
        }
    }
}
