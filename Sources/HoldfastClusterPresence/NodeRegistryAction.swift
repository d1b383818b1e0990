public import HoldfastRedis

/// What the caller of ``NodeRegistryState`` does next.
public enum NodeRegistryAction: Sendable, Equatable {
    /// `SET hf:node:{name} token NX PX node_timeout_ms`; when refused, `GET` the holder's token; report with
    /// ``NodeRegistryState/claimed(_:now:)``.
    case claim
    /// Run ``ClusterScripts/heartbeat``; `announce`: also `ZADD hf:nodes` (withheld while this node rewrites its
    /// entries, so readers never take a half-rewritten node's hash fields for its whole truth). Report with
    /// ``NodeRegistryState/heartbeatReplied(_:now:)``.
    case heartbeat(announce: Bool)
    /// Run ``ClusterScripts/survey``; report with ``NodeRegistryState/surveyed(redisNow:nodes:now:)``.
    case survey
    /// `SET hf:reap:{name} {own name} NX PX node_timeout_ms`; report with
    /// ``NodeRegistryState/reapLockReplied(_:won:now:)``.
    case lockReap(String)
    /// Run ``ClusterScripts/reap`` for the node; `force` skips the script's check that it is still dead (this
    /// node clearing what an earlier process of its own name left). Report with
    /// ``NodeRegistryState/reaped(_:rooms:now:)``.
    case reap(String, force: Bool)
    /// Run ``ClusterScripts/reap`` for this node, force, releasing the name: a graceful stop.
    case leave
    /// The name is ours and what an earlier process of the name left is cleared: rooms may take members.
    case started
    /// The node cannot start.
    case startFailed(NodeRegistryError)
    /// This node's token was gone (it stalled and was reaped, or Redis lost its data): rewrite every room's
    /// entries (``ClusterPresence/linkReady(now:)``), then call ``NodeRegistryState/entriesRewritten()``.
    case ownershipLost
    /// Another process took this node's name while it was taken for dead; the node should stop serving.
    case nameLost(NodeRegistryError)
    /// This node reaped a dead one: its entries left `rooms` rooms, one leave diff each (for the log).
    case nodeReaped(name: String, rooms: Int)
    /// A node that was live left `hf:nodes` without being seen dead (Redis lost it and it never came back):
    /// rooms drop its entries (``ClusterPresence/dropNode(_:now:)``).
    case nodeGone(String)
}

/// How a claim of the node name ended.
public enum NodeClaimOutcome: Sendable, Equatable {
    /// The name was free and is now ours.
    case acquired
    /// The name is held under this token (ours, after an upgrade, or another process's).
    case heldBy(String)
    /// Redis did not answer the claim.
    case failed(RedisError)
}

/// How a heartbeat ended.
public enum NodeHeartbeatOutcome: Sendable, Equatable {
    /// Our token was in place and is renewed; `at` is Redis's clock.
    case renewed(at: Int64)
    /// Our token was gone and is set again: our entries may be gone too.
    case restored(at: Int64)
    /// Another token holds the name.
    case heldBy(String)
    /// Redis did not answer.
    case failed(RedisError)
}
