public import HoldfastJSON
public import HoldfastRedis
public import HoldfastRooms

/// What reaches a room's mailbox from the cluster: bus traffic routed by ``ClusterBus`` and the answers to the
/// Redis commands its ``ClusterRoom`` sent. Handled on the room's home loop by ``ClusterRoom/handle(_:run:)``.
public enum ClusterRoomInput: Sendable {
    /// A message or event from the room's bus channel.
    case bus(BusEnvelope)
    /// Redis confirmed the room's subscription (first time, or after a reconnect).
    case subscribed
    /// The room's sequence (`GET`) when its first member here arrived.
    case baseline(Result<Int64, RedisError>)
    /// A read of the Stream for the feed; `full`: it hit its count.
    case fetched(Result<[ChatMessage], RedisError>, full: Bool)
    /// The store script's ids for a batch (nil: that message failed).
    case stored(batch: Int, ids: [Int64?])
    /// A recovering join's history read.
    case history(HistoryRequest, Result<[ChatMessage], RedisError>)
    /// The room's presence view holds the other nodes' entries (the first local member's join may go on).
    case presenceSeeded
    /// The room's presence has `event` (`presence_diff`, `presence_state`) for its local members.
    case presencePush(event: String, payload: JSONValue)
    /// This loop's command link is ready again after an outage: rewrite this node's entries, read the room.
    case linkReady
    /// The node's token was gone from Redis: rewrite this node's entries, then call `done`.
    case ownershipLost(done: @Sendable () -> Void)
    /// A node vanished from the cluster without a reap heard here: drop its entries.
    case nodeGone(String)
    /// The delay after the last member left ended (if `generation` is still current, the room unsubscribes).
    case unsubscribeDue(generation: Int)
}
