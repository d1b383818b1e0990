extension JSONParser {
    /// Reads a number: an integer that fits `Int64` stays exact, anything else becomes a `Double`.
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = position
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        guard position < bytes.count else { throw .invalidNumber(offset: start) }

        var magnitude: UInt64 = 0
        var overflowed = false
        switch bytes[position] {
        case UInt8(ascii: "0"):
            position += 1
            if position < bytes.count, isDigit(bytes[position]) { throw .invalidNumber(offset: start) }
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            while position < bytes.count, isDigit(bytes[position]) {
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[position] - UInt8(ascii: "0")))
                overflowed = overflowed || overflow1 || overflow2
                magnitude = sum
                position += 1
            }
        default:
            throw .invalidNumber(offset: start)
        }

        var isInteger = true
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            try skipDigits(numberStart: start)
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            try skipDigits(numberStart: start)
        }

        if isInteger, !overflowed {
            if !negative, magnitude <= UInt64(Int64.max) { return .integer(Int64(magnitude)) }
            if negative, magnitude <= UInt64(Int64.max) + 1 {
                return .integer(Int64(truncatingIfNeeded: 0 &- magnitude))
            }
        }
        // The syntax is already checked, so the standard library's conversion sees only RFC 8259 numbers.
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw .numberOutOfRange(offset: start) }
        return .double(value)
    }

    private mutating func skipDigits(numberStart: Int) throws(JSONError) {
        let first = position
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        guard position > first else { throw .invalidNumber(offset: numberStart) }
    }

    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }
}
