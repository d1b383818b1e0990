/// Frames that go out together to many connections, joined once into one buffer: each connection then copies the
/// whole run with one append, and the frame boundaries stay known for the slow-consumer check.
public struct JoinedFrames: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Where each frame ends in ``bytes``.
    public private(set) var ends: [Int] = []

    public init() {}

    public mutating func append(_ frame: [UInt8]) {
        if bytes.isEmpty { bytes = frame } else { bytes.append(contentsOf: frame) }  // a lone frame is not copied
        ends.append(bytes.count)
    }
}

/// A run of messages sent to many connections, with each variant's frames (one per serializer version, say)
/// joined on first use and kept for the other connections.
///
/// Thread ownership: one loop's, for one fan-out task.
public final class SharedFrameRun<Message> {
    public let messages: ArraySlice<Message>
    /// By variant: every member asks, so a lookup is an index rather than a hash.
    private var joined: [JoinedFrames?] = []

    public init(_ messages: ArraySlice<Message>) { self.messages = messages }

    /// The frames of variant `variant` (0, 1, ...), as `frame` gives them (nil: the message has none in that variant).
    public func frames(variant: Int, _ frame: (Message) -> [UInt8]?) -> JoinedFrames {
        if variant < joined.count, let done = joined[variant] { return done }
        var frames = JoinedFrames()
        for message in messages { if let bytes = frame(message) { frames.append(bytes) } }
        if variant >= joined.count { joined += repeatElement(nil, count: variant - joined.count + 1) }
        joined[variant] = frames
        return frames
    }
}

extension SharedFrameRun where Message == SharedTextVariants {
    /// The ready-made frames of variant `variant` joined, when they come to fewer than `limit` bytes (nil for a
    /// larger run, which is better written frame by frame from the messages' own buffers).
    public func joinedFrames(variant: Int, below limit: Int) -> JoinedFrames? {
        let joined = frames(variant: variant) { $0.variant(variant)?.frame }
        return joined.bytes.count < limit ? joined : nil
    }

    /// The ready-made frame of variant `variant` when the run is one message to be written at once
    /// (``SharedTextVariants/writtenAtOnce``) that goes plain to every connection, compressing or not; nil otherwise.
    public func lonePlainFrame(variant: Int) -> [UInt8]? {
        guard messages.count == 1, let message = messages.first, message.writtenAtOnce,
            let text = message.variant(variant), text.sendsPlain
        else { return nil }
        return text.frame
    }
}
