/// Size limits that bound the memory a single peer can make a connection use.
public struct WebSocketLimits: Sendable, Hashable {
    /// The largest payload one frame may announce; larger frames fail with 1009 as soon as the header arrives.
    public var maxFrameSize: Int
    /// The largest complete message (after reassembly and inflation); larger messages fail with 1009.
    public var maxMessageSize: Int

    /// Creates limits; both default to 1 MiB.
    public init(maxFrameSize: Int = 1 << 20, maxMessageSize: Int = 1 << 20) {
        self.maxFrameSize = maxFrameSize
        self.maxMessageSize = maxMessageSize
    }
}
