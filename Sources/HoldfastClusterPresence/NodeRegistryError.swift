/// What stops a node from taking or keeping its place in the cluster.
public enum NodeRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another live process holds the name (its token says where it runs). At start: `holdfast serve` refuses to
    /// start. While running: this node was taken for dead and another process claimed the name.
    case nameTaken(name: String, holder: String)

    public var description: String {
        switch self {
        case .nameTaken(let name, let holder):
            "cluster node name \(name) is held by another live process (\(holder)); give each node its own "
                + "cluster.node_name"
        }
    }
}

/// A node seen in `hf:nodes`, with its last heartbeat on Redis's clock (milliseconds since the epoch).
public struct NodeHeartbeat: Sendable, Equatable {
    /// The node name.
    public var name: String
    /// When it last beat.
    public var lastHeartbeatMilliseconds: Int64

    /// A node and its last beat.
    public init(name: String, lastHeartbeatMilliseconds: Int64) {
        self.name = name
        self.lastHeartbeatMilliseconds = lastHeartbeatMilliseconds
    }
}
