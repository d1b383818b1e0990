public import HoldfastJSON

/// What the API needs from the server: rooms, presence, history and sockets. Every completion may run on any
/// thread, exactly once.
///
/// Single node today: the server's implementation reaches its own rooms and sockets. A cluster implements the
/// same calls across nodes (publish to the room's owner, disconnect fanned out to every node).
public protocol APIBackend: Sendable {
    /// Stores a chat message in `topic` as `user` (ordered with the members' messages) and broadcasts it once
    /// durable: its id, or why not. The room keeps `ticket` with the message while it is pending, so that a binary
    /// upgrade can hand the wait for its answer to the new process.
    func publishMessage(
        topic: String, user: String, body: String, clientID: String?, ticket: UInt64,
        completion: @escaping @Sendable (Result<Int64, APIError>) -> Void)
    /// Broadcasts `event` with `payload` to the members of `topic` as is (not stored).
    func broadcastEvent(topic: String, event: String, payload: JSONValue)
    /// The `presence_state` of `topic` (`{}` for a room nobody is in).
    func presence(topic: String, completion: @escaping @Sendable (JSONValue) -> Void)
    /// `{"clients", "users"}` of `topic`.
    func presenceStats(topic: String, completion: @escaping @Sendable (JSONValue) -> Void)
    /// The stored messages of `topic` after `sinceID`, at most `limit`, as members receive them.
    func history(
        topic: String, sinceID: Int64, limit: Int, completion: @escaping @Sendable (Result<JSONValue, APIError>) -> Void
    )
    /// Sends `phx_close` on every channel of every socket of `user`, then closes them with `code` and `reason`;
    /// answers how many sockets it closed.
    func disconnect(user: String, code: UInt16, reason: String, completion: @escaping @Sendable (Int) -> Void)
    /// Rooms with members, by topic.
    func rooms() -> [(topic: String, members: Int)]
}
