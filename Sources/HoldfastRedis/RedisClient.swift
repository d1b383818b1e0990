public import HoldfastConfig
public import HoldfastCore

/// A Redis connection for commands, with replies as ``RedisReply`` values and failures as ``RedisError``s.
///
/// Commands issued in one loop iteration are pipelined: hiredis buffers them and the loop writes them in one
/// system call before it sleeps; replies come back in order. While the link is down, commands fail at once with
/// ``RedisError/notConnected`` rather than queueing, so a caller (a chat message waiting for its id) can answer
/// its own client with an error instead of waiting for an outage to end.
///
/// Thread ownership: created anywhere, then used only on `loop`'s thread (``status`` excepted); every callback
/// runs on that thread. `@unchecked Sendable` so it can be handed to the loop with `execute`.
public final class RedisClient: @unchecked Sendable {
    /// The loop whose thread owns this client.
    public let loop: EventLoop
    let link: RedisLink

    /// Creates a client for `url` on `loop`; ``start()`` connects.
    ///
    /// - Throws: ``RedisError/tlsUnsupported`` for a `rediss://` URL.
    public init(url: RedisURL, loop: EventLoop, options: RedisClientOptions = RedisClientOptions()) throws(RedisError) {
        guard url.scheme == .redis else { throw .tlsUnsupported }
        self.loop = loop
        link = RedisLink(url: url, loop: loop, options: options)
    }

    /// Starts connecting (and reconnecting after failures until ``close()``). Loop thread.
    public func start() { link.start() }

    /// Closes for good. Commands in flight still get their replies (for up to a second); later ones fail with
    /// ``RedisError/closed``. Loop thread.
    public func close() { link.close() }

    /// The link's state. Loop thread.
    public var state: RedisLinkState { link.state }

    /// State, address and counters for status pages; any thread.
    public var status: RedisLinkStatus { link.status }

    /// Called on every state change, on the loop thread.
    public var onStateChange: ((RedisLinkState) -> Void)? {
        get { link.onStateChange }
        set { link.onStateChange = newValue }
    }

    /// Sends one command, e.g. `send(["SET", "key", RedisArgument(bytes: value)])`. `completion` runs once, on
    /// the loop thread, never before `send` returns. Loop thread.
    public func send(_ arguments: [RedisArgument], _ completion: @escaping (Result<RedisReply, RedisError>) -> Void) {
        link.send(arguments, completion)
    }

    /// Sends `commands` back to back and reports every result, in order, once the last is in. Loop thread.
    public func pipeline(
        _ commands: [[RedisArgument]], _ completion: @escaping ([Result<RedisReply, RedisError>]) -> Void
    ) {
        guard !commands.isEmpty else {
            loop.schedule(afterMilliseconds: 0) { completion([]) }
            return
        }
        var results = [Result<RedisReply, RedisError>?](repeating: nil, count: commands.count)
        var remaining = commands.count
        for (index, command) in commands.enumerated() {
            link.send(command) { result in
                results[index] = result
                remaining -= 1
                if remaining == 0 { completion(results.compactMap { $0 }) }
            }
        }
    }
}
