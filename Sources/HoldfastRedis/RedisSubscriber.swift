public import HoldfastConfig
public import HoldfastCore

/// A connection in pub/sub mode: `SUBSCRIBE`, `UNSUBSCRIBE`, and a handler per channel for its messages.
///
/// It keeps the set of channels it was asked for, independent of the connection: after a reconnect it subscribes
/// to all of them again (in batches) and reports each confirmation through ``onSubscribed``, which is where a
/// caller reads what it missed while the link was down (messages published meanwhile are not replayed by Redis).
///
/// Thread ownership: as ``RedisClient``: `loop`'s thread only, ``status`` excepted.
public final class RedisSubscriber: @unchecked Sendable {
    /// Channels per `SUBSCRIBE` command when subscribing again after a reconnect.
    static let batchSize = 512

    /// The loop whose thread owns this subscriber.
    public let loop: EventLoop
    let link: RedisLink
    // Loop-thread state.
    private var handlers: [String: ([UInt8]) -> Void] = [:]

    /// Called when Redis confirms a subscription: after ``subscribe(_:_:)`` and again after every reconnect.
    public var onSubscribed: ((String) -> Void)?

    /// Creates a subscriber for `url` on `loop`; ``start()`` connects.
    ///
    /// - Throws: ``RedisError/tlsUnsupported`` for a `rediss://` URL.
    public init(url: RedisURL, loop: EventLoop, options: RedisClientOptions = RedisClientOptions()) throws(RedisError) {
        guard url.scheme == .redis else { throw .tlsUnsupported }
        self.loop = loop
        link = RedisLink(url: url, loop: loop, options: options)
        link.onReady = { [unowned self] in resubscribeAll() }
        link.onPush = { [unowned self] reply in push(reply) }
    }

    /// Starts connecting. Loop thread.
    public func start() { link.start() }

    /// Closes for good. Loop thread.
    public func close() {
        handlers.removeAll()
        link.close()
    }

    /// The link's state. Loop thread.
    public var state: RedisLinkState { link.state }

    /// State, address and counters for status pages; any thread.
    public var status: RedisLinkStatus { link.status }

    /// Called on every state change, on the loop thread.
    public var onStateChange: ((RedisLinkState) -> Void)? {
        get { link.onStateChange }
        set { link.onStateChange = newValue }
    }

    /// The channels subscribed to (or to be, once connected).
    public var channels: Set<String> { Set(handlers.keys) }

    /// Delivers `channel`'s messages to `handler` from now on (replacing an earlier handler). Sent at once when
    /// connected, else on the next connection. Loop thread.
    public func subscribe(_ channel: String, _ handler: @escaping ([UInt8]) -> Void) {
        let isNew = handlers.updateValue(handler, forKey: channel) == nil
        if isNew { _ = link.sendPubSub(["SUBSCRIBE", RedisArgument(channel)]) }
    }

    /// Stops delivering `channel`. Loop thread.
    public func unsubscribe(_ channel: String) {
        guard handlers.removeValue(forKey: channel) != nil else { return }
        _ = link.sendPubSub(["UNSUBSCRIBE", RedisArgument(channel)])
    }

    private func resubscribeAll() {
        let all = Array(handlers.keys)
        for start in stride(from: 0, to: all.count, by: Self.batchSize) {
            let batch = all[start..<min(all.count, start + Self.batchSize)]
            _ = link.sendPubSub(["SUBSCRIBE"] + batch.map { RedisArgument($0) })
        }
    }

    private func push(_ reply: RedisReply) {
        guard case .array(let parts) = reply, parts.count >= 3, let kind = parts[0].string,
            let channel = parts[1].string
        else { return }
        switch kind {
        case "message":
            if let payload = parts[2].bytes { handlers[channel]?(payload) }
        case "subscribe":
            if handlers[channel] != nil { onSubscribed?(channel) }
        default:
            break  // unsubscribe confirmations; patterns are not used
        }
    }
}
