public import HoldfastJSON
public import HoldfastRedis

/// What the caller of ``ClusterPresence`` does next, in the order given.
public enum ClusterPresenceAction: Sendable, Equatable {
    /// Send these commands back to back (one pipeline). Replies only matter for logging: a write lost to an
    /// outage is healed by the rewrite that ``ClusterPresence/linkReady(now:)`` asks for.
    case write([[RedisArgument]])
    /// Read the room: `HGETALL` of its hash and `ZRANGE hf:nodes 0 -1`, pipelined; then report with
    /// ``ClusterPresence/roomRead(fields:liveNodes:now:)`` or ``ClusterPresence/roomReadFailed(now:)``.
    case read
    /// Run ``ClusterScripts/rewrite`` with these entries (all of this node's in the room): it replaces the node's
    /// fields, publishes them as a `replace` message and answers the room's hash and live nodes, to report with
    /// ``ClusterPresence/roomRead(fields:liveNodes:now:)`` (or ``ClusterPresence/roomReadFailed(now:)``).
    case rewrite([ClusterPresenceEntry])
    /// Call ``ClusterPresence/flush(now:)`` at this time (monotonic milliseconds); at once if it has passed.
    case wakeAt(Int64)
    /// Push `presence_diff` with this payload to the room's local members.
    case pushDiff(JSONValue)
    /// Push `presence_state` with this payload to the room's local members (a resync after an outage).
    case pushState(JSONValue)
}
