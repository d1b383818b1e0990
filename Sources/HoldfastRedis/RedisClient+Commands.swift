/// Typed forms of the commands the cluster uses. Each maps the reply's shape to a Swift value, or to
/// ``RedisError/unexpectedReply(_:)``.
extension RedisClient {
    /// `PING`: succeeds with the server's `PONG`.
    public func ping(_ completion: @escaping (Result<Void, RedisError>) -> Void) {
        send(["PING"]) { result in completion(result.map { _ in () }) }
    }

    /// `INCR key`: the value after the increment.
    public func incr(_ key: String, _ completion: @escaping (Result<Int64, RedisError>) -> Void) {
        send(["INCR", RedisArgument(key)]) { completion(Self.integer($0)) }
    }

    /// `PUBLISH channel message`: how many subscribers (connections, cluster-wide) received it.
    public func publish(
        _ channel: String, _ message: [UInt8], _ completion: @escaping (Result<Int64, RedisError>) -> Void
    ) {
        send(["PUBLISH", RedisArgument(channel), RedisArgument(bytes: message)]) { completion(Self.integer($0)) }
    }

    /// `XADD stream [MAXLEN ~ n] * field value ...`: appends an entry and returns the id Redis gave it.
    ///
    /// - Parameter maxLength: trim to about this many entries (`~`: Redis trims whole nodes, which is cheap); nil
    ///   keeps everything.
    public func xadd(
        _ stream: String, maxLength: Int? = nil, fields: [(String, [UInt8])],
        _ completion: @escaping (Result<RedisStreamID, RedisError>) -> Void
    ) {
        var arguments: [RedisArgument] = ["XADD", RedisArgument(stream)]
        if let maxLength { arguments += ["MAXLEN", "~", RedisArgument(maxLength)] }
        arguments.append("*")
        for (name, value) in fields { arguments += [RedisArgument(name), RedisArgument(bytes: value)] }
        send(arguments) { result in
            completion(
                result.flatMap { reply in
                    guard let text = reply.string, let id = RedisStreamID(text) else {
                        return .failure(.unexpectedReply(reply))
                    }
                    return .success(id)
                })
        }
    }

    /// `XRANGE stream start end [COUNT n]`: entries in id order. `start`/`end` take Redis's forms: `-`, `+`, an
    /// id, or `(id` for an exclusive bound.
    public func xrange(
        _ stream: String, from start: String = "-", to end: String = "+", count: Int? = nil,
        _ completion: @escaping (Result<[RedisStreamEntry], RedisError>) -> Void
    ) {
        var arguments: [RedisArgument] = ["XRANGE", RedisArgument(stream), RedisArgument(start), RedisArgument(end)]
        if let count { arguments += ["COUNT", RedisArgument(count)] }
        send(arguments) { result in
            completion(
                result.flatMap { reply in
                    guard case .array(let items) = reply else { return .failure(.unexpectedReply(reply)) }
                    var entries: [RedisStreamEntry] = []
                    entries.reserveCapacity(items.count)
                    for item in items {
                        guard let entry = RedisStreamEntry(item) else { return .failure(.unexpectedReply(item)) }
                        entries.append(entry)
                    }
                    return .success(entries)
                })
        }
    }

    private static func integer(_ result: Result<RedisReply, RedisError>) -> Result<Int64, RedisError> {
        result.flatMap { reply in
            guard let value = reply.integer else { return .failure(.unexpectedReply(reply)) }
            return .success(value)
        }
    }
}
