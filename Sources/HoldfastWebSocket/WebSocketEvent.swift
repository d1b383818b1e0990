/// What ``WebSocketConnection/nextEvent(input:output:)`` found in the received bytes.
///
/// Payload pointers are valid only until the next call on the same connection.
public enum WebSocketEvent {
    /// Nothing complete yet; the consumed bytes (if any) may be dropped, the rest must be kept.
    case needMoreInput
    /// A complete text message, reassembled, inflated and validated as UTF-8.
    case text(UnsafeRawBufferPointer)
    /// A complete binary message, reassembled and inflated.
    case binary(UnsafeRawBufferPointer)
    /// A ping; the pong is already in the output.
    case ping(UnsafeRawBufferPointer)
    /// A pong.
    case pong(UnsafeRawBufferPointer)
    /// The connection is done: the peer's close arrived (our reply, if one was due, is in the output) or a
    /// protocol error occurred (our close frame with `code` is in the output). The caller flushes the output and
    /// closes the TCP connection.
    case closed(code: WebSocketCloseCode, reason: String, initiatedByPeer: Bool, error: WebSocketProtocolError?)
}
