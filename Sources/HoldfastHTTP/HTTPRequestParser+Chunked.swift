/// The chunked transfer coding (RFC 9112 §7.1): sizes, data, and trailers that are read and dropped.
extension HTTPRequestParser {
    /// Parses `chunk-size [ BWS ; chunk-ext ]`; a zero size starts the trailer section.
    mutating func chunkSizeLine(_ line: ArraySlice<UInt8>) -> LineOutcome {
        var size = 0
        var index = line.startIndex
        let budget = limits.maxBodyBytes - body.count
        while index < line.endIndex, let digit = line[index].hexValue {
            // Leading zeros are allowed, so a long size line is only an error once its value passes the budget.
            guard let next = size.appendingDigit(digit, base: 16), next <= budget else {
                return .failed(.bodyTooLarge)
            }
            size = next
            index += 1
        }
        guard index > line.startIndex else { return .failed(.invalidChunk) }
        let rest = line[index...].drop(while: \.isWhitespace)
        if let first = rest.first {
            guard first == .semicolon, rest.allSatisfy(\.isFieldValueCharacter) else { return .failed(.invalidChunk) }
        }
        state = size == 0 ? .trailers : .chunkData(remaining: size)
        return .proceed
    }

    /// Skips one trailer field; the empty line completes the request. Trailers count against the header limits.
    mutating func trailerLine(_ line: ArraySlice<UInt8>) -> LineOutcome {
        if line.isEmpty { return .complete }
        guard let first = line.first, !first.isWhitespace else { return .failed(.obsoleteLineFolding) }
        guard fields.count + trailerCount < limits.maxHeaderCount else { return .failed(.tooManyHeaders) }
        trailerCount += 1
        headerBytes += line.count
        guard let colon = line.firstIndex(of: .colon), line[..<colon].isToken else { return .failed(.malformedHeader) }
        guard line[(colon + 1)...].allSatisfy(\.isFieldValueCharacter) else { return .failed(.invalidCharacter) }
        return .proceed
    }
}
