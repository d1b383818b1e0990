/// The frame opcodes RFC 6455 defines; the other values are reserved and rejected with 1002.
public enum WebSocketOpcode: UInt8, Sendable {
    /// A further fragment of the message in progress.
    case continuation = 0
    /// The first frame of a UTF-8 text message.
    case text = 1
    /// The first frame of a binary message.
    case binary = 2
    /// A close frame (code and reason).
    case close = 8
    /// A ping; the receiver answers with a pong carrying the same payload.
    case ping = 9
    /// A pong, solicited or not.
    case pong = 10

    /// Whether this is a control frame (close, ping, pong): never fragmented, payload at most 125 bytes.
    public var isControl: Bool { rawValue & 0x8 != 0 }
}
