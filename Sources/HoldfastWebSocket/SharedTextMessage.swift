/// A text message sent as is to many connections: its complete unmasked frame, copied into the output of every
/// connection that does not compress, and its body, compressed at most once for every connection that negotiated
/// no context takeover (``SharedDeflate``).
public struct SharedTextMessage: Sendable {
    public let payload: SharedDeflate
    public let frame: [UInt8]

    /// Frames `text` and prepares its compression at zlib `deflateLevel`.
    public init(text: [UInt8], deflateLevel: Int) {
        var frame: [UInt8] = []
        text.withUnsafeBytes { WebSocketFrame.appendFrame(opcode: .text, fin: true, payload: $0, into: &frame) }
        self.frame = frame
        payload = SharedDeflate(body: text, level: deflateLevel)
    }
}
