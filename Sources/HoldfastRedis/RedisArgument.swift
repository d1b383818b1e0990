/// One argument of a Redis command: binary-safe bytes, written from a string, an integer or raw bytes.
public struct RedisArgument: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// The bytes sent.
    public var bytes: [UInt8]

    /// The UTF-8 bytes of `text`.
    public init(_ text: String) { bytes = Array(text.utf8) }

    /// The decimal form of `value`, as Redis expects numbers.
    public init(_ value: some BinaryInteger) { bytes = Array(String(value).utf8) }

    /// Raw bytes (a message body, a binary key).
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init(stringLiteral value: String) { self.init(value) }

    public init(integerLiteral value: Int) { self.init(value) }
}
