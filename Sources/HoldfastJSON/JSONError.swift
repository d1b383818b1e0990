/// Why a byte sequence is not a JSON text Holdfast accepts (RFC 8259, strict).
///
/// Offsets count bytes from the start of the input. Every case is a peer fault: the parser never traps on
/// input, whatever its size, nesting or encoding.
public enum JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ended inside a value (or was empty).
    case unexpectedEnd
    /// A byte that cannot start or continue the value being read.
    case unexpectedByte(UInt8, offset: Int)
    /// Arrays and objects nested deeper than the limit given to the parser.
    case tooDeep(limit: Int)
    /// A malformed number: leading zero, missing digits, a lone sign or dot.
    case invalidNumber(offset: Int)
    /// A number too large for a `Double` (for example `1e400`).
    case numberOutOfRange(offset: Int)
    /// An unknown escape, a bad `\u` sequence or a lone UTF-16 surrogate.
    case invalidEscape(offset: Int)
    /// An unescaped control character (below U+0020) inside a string.
    case controlCharacterInString(offset: Int)
    /// A string whose bytes are not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// Bytes other than whitespace after the top-level value.
    case trailingData(offset: Int)

    public var description: String {
        switch self {
        case .unexpectedEnd: "unexpected end of JSON input"
        case .unexpectedByte(let byte, let offset): "unexpected byte 0x\(String(byte, radix: 16)) at offset \(offset)"
        case .tooDeep(let limit): "JSON nested deeper than \(limit) levels"
        case .invalidNumber(let offset): "invalid number at offset \(offset)"
        case .numberOutOfRange(let offset): "number out of range at offset \(offset)"
        case .invalidEscape(let offset): "invalid escape at offset \(offset)"
        case .controlCharacterInString(let offset): "unescaped control character in string at offset \(offset)"
        case .invalidUTF8(let offset): "invalid UTF-8 in string at offset \(offset)"
        case .trailingData(let offset): "unexpected data after the JSON value at offset \(offset)"
        }
    }
}
