/// The request line and header fields (RFC 9112 §3 and §5).
extension HTTPRequestParser {
    /// Header fields a browser's WebSocket upgrade usually carries (Host, Upgrade, Connection, Origin, the key,
    /// version, extensions, user agent, language and a few more).
    static let expectedHeaderCount = 16

    /// Parses `method SP request-target SP HTTP-version`, skipping a few leading empty lines.
    mutating func requestLine(_ range: Range<Int>) -> LineOutcome {
        let line = head[range]
        if line.isEmpty {
            leadingEmptyLines += 1
            return leadingEmptyLines > Self.maxLeadingEmptyLines ? .failed(.malformedRequestLine) : .proceed
        }
        // Exactly two single spaces: extra whitespace is a classic smuggling ambiguity, so it is rejected.
        guard let firstSpace = line.firstIndex(of: .space),
            let secondSpace = line[(firstSpace + 1)...].firstIndex(of: .space)
        else { return .failed(.malformedRequestLine) }
        let methodBytes = line[..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<secondSpace]
        let versionBytes = line[(secondSpace + 1)...]
        guard methodBytes.isToken, !versionBytes.contains(.space) else { return .failed(.malformedRequestLine) }
        switch Self.version(versionBytes) {
        case .success(let minor): minorVersion = minor
        case .failure(let error): return .failed(error)
        }
        guard Self.isAcceptableTarget(targetBytes, method: methodBytes) else { return .failed(.invalidTarget) }
        methodRange = methodBytes.indices
        targetRange = targetBytes.indices
        state = .headers
        return .proceed
    }

    /// `HTTP/1.1` and `HTTP/1.0` as the 8-byte words they load as.
    static let http11 = Array("HTTP/1.1".utf8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    static let http10 = Array("HTTP/1.0".utf8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }

    /// The minor version of `HTTP/1.0` or `HTTP/1.1`; 505 for another well-formed version, 400 for garbage.
    static func version(_ bytes: ArraySlice<UInt8>) -> Result<Int, HTTPParseError> {
        // The two versions served, compared as whole byte strings first: every request carries one.
        if bytes.count == 8 {
            let known = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            if known == Self.http11 { return .success(1) }
            if known == Self.http10 { return .success(0) }
        }
        let prefix = "HTTP/".utf8
        guard bytes.starts(with: prefix) else { return .failure(.malformedRequestLine) }
        let number = bytes.dropFirst(prefix.count)
        let digitsAndDots = number.allSatisfy { $0 == UInt8(ascii: ".") || ($0 >= 0x30 && $0 <= 0x39) }
        let wellFormed = !number.isEmpty && digitsAndDots && number.first != UInt8(ascii: ".")
        return .failure(wellFormed ? .unsupportedVersion : .malformedRequestLine)
    }

    /// Whether the target is origin-form, absolute-form with an http(s) scheme, or `*` for OPTIONS.
    static func isAcceptableTarget(_ target: ArraySlice<UInt8>, method: ArraySlice<UInt8>) -> Bool {
        // Visible ASCII only: no controls, spaces, DEL or raw non-ASCII bytes (URIs are percent-encoded).
        guard let first = target.first, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return false }
        if first == .slash { return true }
        if target.count == 1 && first == .asterisk { return method.elementsEqual("OPTIONS".utf8) }
        for scheme in ["http://", "https://"] where target.count > scheme.utf8.count {
            if target.prefix(scheme.utf8.count).equalsCaseInsensitive(scheme.utf8) { return true }
        }
        return false
    }

    /// Parses one `name: value` field, or finishes the head on the empty line.
    mutating func headerLine(_ range: Range<Int>) -> LineOutcome {
        if range.isEmpty { return endOfHead() }
        let line = head[range]
        guard let first = line.first, !first.isWhitespace else { return .failed(.obsoleteLineFolding) }
        guard fields.count < limits.maxHeaderCount else { return .failed(.tooManyHeaders) }
        headerBytes += line.count
        // Read in place over the head's storage: this runs for every field of every request.
        let field = head.withUnsafeBytes { head -> HTTPFieldRange? in
            let colon = HTTPByteScan.firstIndex(of: .colon, in: head, from: range.lowerBound)
            // A non-token name also covers whitespace before the colon, which RFC 9112 §5.1 requires rejecting.
            guard colon < range.upperBound,
                HTTPByteScan.isToken(UnsafeRawBufferPointer(rebasing: head[range.lowerBound..<colon]))
            else { return nil }
            var low = colon + 1
            var high = range.upperBound
            while low < high && head[low].isWhitespace { low += 1 }
            while high > low && head[high - 1].isWhitespace { high -= 1 }
            return HTTPFieldRange(name: range.lowerBound..<colon, value: low..<high)
        }
        guard let field else { return .failed(.malformedHeader) }
        let valid = head.withUnsafeBytes { HTTPByteScan.isFieldValue(UnsafeRawBufferPointer(rebasing: $0[field.value])) }
        guard valid else { return .failed(.invalidCharacter) }
        // Room for a browser's upgrade request up front, instead of growing through 1, 2, 4, 8 and 16 fields.
        if fields.isEmpty { fields.reserveCapacity(Self.expectedHeaderCount) }
        let name = head.withUnsafeBytes { HTTPKnownField.recognize(UnsafeRawBufferPointer(rebasing: $0[field.name])) }
        if let name { known.record(name, at: fields.count) }
        fields.append(field)
        return .proceed
    }

    /// Validates the head and chooses the body framing (RFC 9112 §6.3).
    mutating func endOfHead() -> LineOutcome {
        // The framing fields were recognised as their lines were read: only repeated ones need another look.
        var hostCount = 0
        known.forEach(.host, in: fields, head: head) { _ in
            hostCount += 1
            return hostCount < 2
        }
        let hasTransferEncoding = known.first(.transferEncoding) != nil || known.isRepeated(.transferEncoding)
        var contentLengthDigits: [UInt8]?
        var contentLengthError: HTTPParseError?
        known.forEach(.contentLength, in: fields, head: head) { position in
            switch Self.contentLength(head[fields[position].value], previous: contentLengthDigits) {
            case .success(let digits): contentLengthDigits = digits
            case .failure(let error): contentLengthError = error
            }
            return contentLengthError == nil
        }
        if let contentLengthError { return .failed(contentLengthError) }
        if hostCount > 1 { return .failed(.duplicateHost) }
        if hostCount == 0 && minorVersion == 1 { return .failed(.missingHost) }
        if hasTransferEncoding {
            if contentLengthDigits != nil { return .failed(.contentLengthWithTransferEncoding) }
            if let error = transferEncodingError() { return .failed(error) }
            state = .chunkSize
            return .proceed
        }
        guard let digits = contentLengthDigits else { return .complete }
        var length = 0
        for digit in digits {
            guard let next = length.appendingDigit(Int(digit - UInt8(ascii: "0")), base: 10),
                next <= limits.maxBodyBytes
            else { return .failed(.bodyTooLarge) }
            length = next
        }
        if length == 0 { return .complete }
        body.reserveCapacity(min(length, Self.maxBodyReservation))
        state = .body(remaining: length)
        return .proceed
    }

    /// The digits of a `Content-Length` field (leading zeros dropped), which may repeat one value as a list.
    static func contentLength(_ value: ArraySlice<UInt8>, previous: [UInt8]?) -> Result<[UInt8], HTTPParseError> {
        var result = previous
        for element in value.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            var digits = element.drop(while: \.isWhitespace)
            while let last = digits.last, last.isWhitespace { digits = digits.dropLast() }
            guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return .failure(.invalidContentLength)
            }
            let significant = Array(digits.drop(while: { $0 == UInt8(ascii: "0") }))
            if let result, result != significant { return .failure(.conflictingContentLength) }
            result = significant
        }
        guard let result else { return .failure(.invalidContentLength) }
        return .success(result)
    }

    /// Nil when the transfer codings are exactly `chunked`; otherwise why they are refused.
    func transferEncodingError() -> HTTPParseError? {
        var codings: [Substring] = []
        for field in fields where head[field.name].equalsCaseInsensitive("Transfer-Encoding".utf8) {
            let value = String(decoding: head[field.value], as: UTF8.self)
            codings += value.split(separator: ",").map(\.trimmingSpaces).filter { !$0.isEmpty }
        }
        guard !codings.isEmpty else { return .invalidTransferEncoding }
        guard codings.allSatisfy({ $0.equalsCaseInsensitive("chunked") }) else { return .unsupportedTransferEncoding }
        return codings.count == 1 ? nil : .invalidTransferEncoding
    }
}
