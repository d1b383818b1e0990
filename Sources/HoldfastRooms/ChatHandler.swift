public import HoldfastJSON

/// The application logic of chat rooms as a room sees it: who may join, what a presence meta holds, which
/// messages are acceptable, what a broadcast message looks like.
///
/// The code behind it is a handler plugin that can be replaced while the server runs; the server adapts the
/// plugin interface to this protocol. Every call is made on the room's thread, synchronously, while the room
/// handles one event: an implementation must be quick and must not block.
public protocol ChatHandler: Sendable {
    /// The version string of the handler code in use.
    var version: String { get }
    /// Decides a join of `topic` by `user` at wall-clock time `now` (ms since the epoch); an allowed join gets the
    /// presence meta to track.
    func authorizeJoin(topic: String, user: String, payload: JSONValue, now: Int64) -> JoinDecision
    /// Checks an incoming chat message; nil when acceptable, else the reason sent back in the error reply.
    func validateMessage(topic: String, user: String, body: String) -> String?
    /// The payload broadcast for a stored message; `replay` when it is resent to a recovering client.
    func messagePayload(
        topic: String, id: Int64, user: String, body: String, timestamp: Int64, clientID: JSONValue?, replay: Bool
    ) -> JSONValue
}

/// The outcome of ``ChatHandler/authorizeJoin(topic:user:payload:now:)``.
public enum JoinDecision: Sendable, Equatable {
    case allow(presenceMeta: JSONValue)
    case deny(reason: String)
}
