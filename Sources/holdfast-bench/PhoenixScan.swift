/// Byte scanning of Phoenix 2.0.0 frames (`[join_ref, ref, topic, event, payload]`), without building any JSON
/// values: the hot path only needs the event, the ref and a few spans of the payload.
///
/// Every function takes the whole message and an offset and returns nil on anything it does not understand, so
/// a malformed frame is counted by the caller, never trapped on.
enum PhoenixScan {
    /// The spans of one frame's envelope (string contents, without quotes; nil for `null`).
    struct Envelope {
        var ref: Range<Int>?
        var topic: Range<Int>
        var event: Range<Int>
        /// Where the payload value starts.
        var payload: Int
    }

    static func envelope(_ bytes: UnsafeRawBufferPointer) -> Envelope? {
        var index = skipSpace(bytes, 0)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { return nil }
        index += 1
        var fields: [Range<Int>?] = []
        for _ in 0..<4 {
            index = skipSpace(bytes, index)
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "\"") {
                guard let end = stringEnd(bytes, index) else { return nil }
                fields.append((index + 1)..<(end - 1))
                index = end
            } else {
                guard let end = skipValue(bytes, index) else { return nil }
                fields.append(nil)
                index = end
            }
            index = skipSpace(bytes, index)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ",") else { return nil }
            index += 1
        }
        guard let topic = fields[2], let event = fields[3] else { return nil }
        return Envelope(ref: fields[1], topic: topic, event: event, payload: skipSpace(bytes, index))
    }

    /// Whether `span` of `bytes` holds exactly `text` (ASCII).
    static func equals(_ bytes: UnsafeRawBufferPointer, _ span: Range<Int>, _ text: StaticString) -> Bool {
        guard span.count == text.utf8CodeUnitCount else { return false }
        let pattern = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        for offset in 0..<span.count where bytes[span.lowerBound + offset] != pattern[offset] { return false }
        return true
    }

    /// The first index at or after `start` where `text` occurs, or nil.
    static func find(_ bytes: UnsafeRawBufferPointer, _ text: StaticString, from start: Int) -> Int? {
        let pattern = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        guard pattern.count > 0, bytes.count >= pattern.count else { return nil }
        var index = start
        while index <= bytes.count - pattern.count {
            if bytes[index] == pattern[0] {
                var offset = 1
                while offset < pattern.count, bytes[index + offset] == pattern[offset] { offset += 1 }
                if offset == pattern.count { return index }
            }
            index += 1
        }
        return nil
    }

    /// A decimal number spelled by `span` (a ref), or nil.
    static func decimal(_ bytes: UnsafeRawBufferPointer, _ span: Range<Int>) -> UInt64? {
        guard !span.isEmpty, span.count <= 19 else { return nil }
        var value: UInt64 = 0
        for index in span {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + UInt64(digit)
        }
        return value
    }

    /// Sixteen lowercase hex digits at `start`, as sent in a benchmark message body.
    static func hex16(_ bytes: UnsafeRawBufferPointer, at start: Int) -> UInt64? {
        guard start + 16 <= bytes.count else { return nil }
        var value: UInt64 = 0
        for index in start..<(start + 16) {
            let byte = bytes[index]
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }

    /// Calls `body` with the key span of every member of the object starting at `start`, and the index where
    /// the member's value starts; returns false when the bytes are not such an object.
    @discardableResult
    static func forEachMember(
        _ bytes: UnsafeRawBufferPointer, objectAt start: Int, _ body: (_ key: Range<Int>, _ value: Int) -> Void
    ) -> Bool {
        var index = skipSpace(bytes, start)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return false }
        index = skipSpace(bytes, index + 1)
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return true }
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\""), let keyEnd = stringEnd(bytes, index) else { return false }
            let key = (index + 1)..<(keyEnd - 1)
            index = skipSpace(bytes, keyEnd)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return false }
            let valueStart = skipSpace(bytes, index + 1)
            body(key, valueStart)
            guard let valueEnd = skipValue(bytes, valueStart) else { return false }
            index = skipSpace(bytes, valueEnd)
            guard index < bytes.count else { return false }
            if bytes[index] == UInt8(ascii: "}") { return true }
            guard bytes[index] == UInt8(ascii: ",") else { return false }
            index = skipSpace(bytes, index + 1)
        }
        return false
    }

    /// The index just past the JSON value starting at `start`, or nil when it is malformed or cut off.
    static func skipValue(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        var index = skipSpace(bytes, start)
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return stringEnd(bytes, index)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let end = stringEnd(bytes, index) else { return nil }
                    index = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            return nil
        default:
            // A number or a literal: runs until a delimiter.
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D: return index
                default: index += 1
                }
            }
            return index
        }
    }

    /// The index just past the closing quote of the string starting at `start` (a quote), or nil.
    static func stringEnd(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""): return index + 1
            case UInt8(ascii: "\\"): index += 2
            default: index += 1
            }
        }
        return nil
    }

    private static func skipSpace(_ bytes: UnsafeRawBufferPointer, _ start: Int) -> Int {
        var index = start
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
        return index
    }
}
