/// The Redis key and channel names of the cluster, under one prefix (`hf:` by default).
///
/// A room's keys share the hash tag `{room}` so that Redis Cluster stays possible. The reap script
/// (``ClusterScripts/reap``) derives the same names from the prefix inside Redis: change both together.
public struct ClusterKeys: Sendable, Equatable {
    /// Prepended to every key and channel.
    public var prefix: String

    /// Names under `prefix`.
    public init(prefix: String = "hf:") { self.prefix = prefix }

    /// `hf:{room}:presence`: field `node|phx_ref` → `{"key": ..., "meta": ...}`.
    public func presence(room: String) -> String { "\(prefix){\(room)}:presence" }

    /// `hf:{room}:bus`: the room's pub/sub channel (messages, typing, presence diffs).
    public func bus(room: String) -> String { "\(prefix){\(room)}:bus" }

    /// `hf:node:{name}`: the instance token of the process holding the name, expiring after `node_timeout_ms`.
    public func node(_ name: String) -> String { "\(prefix)node:\(name)" }

    /// `hf:node:{name}:rooms`: the rooms where the node has presence fields (what the reap script visits).
    public func nodeRooms(_ name: String) -> String { "\(prefix)node:\(name):rooms" }

    /// `hf:nodes`: sorted set of node names, scored by their last heartbeat (milliseconds on Redis's clock).
    public var nodes: String { "\(prefix)nodes" }

    /// `hf:reap:{name}`: held by the node that cleans up after `name`.
    public func reapLock(_ name: String) -> String { "\(prefix)reap:\(name)" }
}
