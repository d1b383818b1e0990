/// A node of the cluster as the node registry sees it (heartbeats in Redis).
public struct ClusterNodeInfo: Sendable, Equatable {
    /// The node's name (`cluster.node_name`).
    public var name: String
    /// Wall-clock milliseconds of its last heartbeat.
    public var lastHeartbeatMilliseconds: Int64

    public init(name: String, lastHeartbeatMilliseconds: Int64) {
        self.name = name
        self.lastHeartbeatMilliseconds = lastHeartbeatMilliseconds
    }
}

/// Whoever keeps the list of live nodes (heartbeats, dead-node cleanup); `/admin/status` shows its list.
public protocol ClusterNodeRegistry: Sendable {
    /// The nodes alive now, this one included. Any thread.
    var liveNodes: [ClusterNodeInfo] { get }
}
