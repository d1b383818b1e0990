/// A recursive-descent reader over one JSON text; ``JSON/parse(_:maxDepth:)-(UnsafeRawBufferPointer,_)``
/// is its public face.
///
/// It reads the caller's buffer in place. Strings without escapes become `String`s straight from the
/// buffer; strings with escapes are decoded into one scratch array reused across the whole parse.
struct JSONParser {
    // Memory handed to the parser holds bytes; viewing it as UInt8 lets String build from it directly.
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0
    var depth = 0
    /// Decoded bytes of the current escaped string; kept between strings to reuse its capacity.
    var scratch: [UInt8] = []

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes.assumingMemoryBound(to: UInt8.self)
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw .trailingData(offset: position) }
        return value
    }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONError) -> JSONValue {
        skipWhitespace()
        guard position < bytes.count else { throw .unexpectedEnd }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case let byte: throw .unexpectedByte(byte, offset: position)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let count = literal.utf8CodeUnitCount
        for index in 0..<count {
            guard position + index < bytes.count else { throw .unexpectedEnd }
            let byte = bytes[position + index]
            guard byte == literal.utf8Start[index] else { throw .unexpectedByte(byte, offset: position + index) }
        }
        position += count
    }

    private mutating func enterContainer() throws(JSONError) {
        depth += 1
        guard depth <= maxDepth else { throw .tooDeep(limit: maxDepth) }
        position += 1  // the opening bracket
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw .unexpectedEnd }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            case let byte: throw .unexpectedByte(byte, offset: position)
            }
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        var members: [JSONMember] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw .unexpectedEnd }
            guard bytes[position] == UInt8(ascii: "\"") else {
                throw .unexpectedByte(bytes[position], offset: position)
            }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count else { throw .unexpectedEnd }
            guard bytes[position] == UInt8(ascii: ":") else { throw .unexpectedByte(bytes[position], offset: position) }
            position += 1
            members.append(JSONMember(key, try parseValue()))
            skipWhitespace()
            guard position < bytes.count else { throw .unexpectedEnd }
            switch bytes[position] {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            case let byte: throw .unexpectedByte(byte, offset: position)
            }
        }
    }
}
