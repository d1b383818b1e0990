/// Reading a plain request head where it arrived (in the connection's read buffer), for the WebSocket upgrade:
/// no line is copied and nothing is allocated; the fields' ranges live on the stack for the call.
extension HTTPHeadView {
    /// The most fields a head read in place may have; a head with more goes to ``HTTPRequestParser``. A browser's
    /// upgrade carries 10 to 20.
    static let inPlaceFieldCapacity = 32

    /// `HTTP/1.1` as the 8-byte word it loads as.
    private static let http11 = HTTPRequestParser.http11
    /// `GET ` as the 4-byte word it loads as.
    private static let getSpace = UInt32(littleEndian: 0x2054_4547)

    /// Reads a complete request head at the start of `input` in place and calls `body` with it. Returns how many
    /// bytes the head took when `body` returns true (it took the request); nil when `body` declined it or was not
    /// called.
    ///
    /// Only the common shape is read here: `METHOD /origin-form-target HTTP/1.1`, CRLF line endings, one `Host`,
    /// no body (`Content-Length` or `Transfer-Encoding` present), at most ``inPlaceFieldCapacity`` fields, within
    /// `limits`. For anything else (an incomplete head, any error, a body, the parser's leniencies) `body` is not
    /// called and the caller hands the same bytes to ``HTTPRequestParser``, which gives every other answer. So
    /// whatever this accepts, the parser accepts as the same request, consuming the same bytes (the HTTP fuzz
    /// target checks it).
    public static func parse(
        _ input: UnsafeRawBufferPointer, limits: HTTPLimits, _ body: (HTTPHeadView) -> Bool
    ) -> Int? {
        let bytes = input.assumingMemoryBound(to: UInt8.self)
        let raw = UnsafeRawBufferPointer(bytes)
        let count = bytes.count
        guard count >= 16 else { return nil }
        let tokens = HTTPByteScan.tokenSet

        // The request line: a token, one space, an origin-form target of visible ASCII, one space, HTTP/1.1, CRLF.
        var index = 0
        if UnsafeRawPointer(bytes.baseAddress!).loadUnaligned(as: UInt32.self) == getSpace {
            index = 3  // the upgrade's method, without a look at each byte
        } else {
            while index < count && HTTPByteScan.isTokenByte(bytes[index], tokens) { index += 1 }
        }
        guard index > 0, index < count, bytes[index] == .space else { return nil }
        let method = 0..<index
        index += 1
        let targetStart = index
        index = HTTPByteScan.firstNonVisible(in: bytes, from: index)
        guard index < count, bytes[index] == .space, bytes[targetStart] == .slash else { return nil }
        let target = targetStart..<index
        index += 1
        guard index + 10 <= count, index + 8 <= limits.maxRequestLineLength,
            UnsafeRawPointer(bytes.baseAddress!).loadUnaligned(fromByteOffset: index, as: UInt64.self) == http11,
            bytes[index + 8] == .cr, bytes[index + 9] == .lf
        else { return nil }
        index += 10

        return withUnsafeTemporaryAllocation(of: HTTPFieldRange.self, capacity: inPlaceFieldCapacity) { storage in
            var known = HTTPKnownFieldIndex()
            var fieldCount = 0
            var headerBytes = 0
            // Field lines up to the empty line: `token ":" field-value CRLF`, the value's bytes HT, SP, visible
            // ASCII or obs-text.
            while true {
                guard index + 2 <= count else { return nil }
                if bytes[index] == .cr {
                    guard bytes[index + 1] == .lf else { return nil }
                    index += 2
                    break
                }
                let lineStart = index
                // The name is everything before the first colon, found a word at a time, and must be a token: a
                // known name's recognition checks that exactly, any other name is checked byte by byte.
                index = HTTPByteScan.firstIndex(of: .colon, in: raw, from: index)
                guard index > lineStart, index < count else { return nil }
                let name = lineStart..<index
                let field = HTTPKnownField.recognize(UnsafeRawBufferPointer(bytes.range(name)))
                if field == nil {
                    for at in name where !HTTPByteScan.isTokenByte(bytes[at], tokens) { return nil }
                }
                index += 1
                var low = index
                while true {
                    index = HTTPByteScan.firstControl(in: bytes, from: index)
                    guard index < count, bytes[index] == .tab else { break }
                    index += 1
                }
                guard index + 1 < count, bytes[index] == .cr, bytes[index + 1] == .lf else { return nil }
                var high = index
                while low < high && bytes[low].isWhitespace { low += 1 }
                while high > low && bytes[high - 1].isWhitespace { high -= 1 }
                headerBytes += index - lineStart
                guard headerBytes <= limits.maxHeaderBytes, fieldCount < limits.maxHeaderCount,
                    fieldCount < inPlaceFieldCapacity
                else { return nil }
                storage.initializeElement(at: fieldCount, to: HTTPFieldRange(name: name, value: low..<high))
                if let field { known.record(field, at: fieldCount) }
                fieldCount += 1
                index += 2
            }
            // One Host and no body; a repeated Host, a missing one or a framing field is the parser's to answer.
            let framing = known.hasAny(.contentLength) || known.hasAny(.transferEncoding)
            guard known.first(.host) != nil, !known.isRepeated(.host), !framing else { return nil }
            let head = HTTPHeadView(
                bytes: UnsafeBufferPointer(rebasing: bytes[..<index]), methodRange: method, targetRange: target,
                fields: UnsafeBufferPointer(rebasing: storage[..<fieldCount]), known: known, minorVersion: 1)
            return body(head) ? index : nil
        }
    }
}

extension HTTPKnownFieldIndex {
    /// Whether the head has `field` at all.
    func hasAny(_ field: HTTPKnownField) -> Bool { first(field) != nil || isRepeated(field) }
}
