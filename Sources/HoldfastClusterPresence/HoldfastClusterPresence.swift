// HoldfastClusterPresence: presence across nodes, held in Redis (docs/cluster.md, "Presence across nodes").
//
// Two parts, each a pure state machine that returns actions plus a thin driver over `RedisClient`:
//
// - `NodeRegistryState` / `NodeRegistry`: claims the node's name (`hf:node:{name}` = instance token), heartbeats
//   every `node_timeout_ms / 5` (`hf:nodes` holds each node's last beat on Redis's clock), lists the live nodes for
//   `/admin/status`, finds nodes that missed three beats, wins `hf:reap:{name}` and runs the reap script (one leave
//   diff per room of the dead node). A node that finds its own token gone (it stalled and was reaped, or Redis lost
//   its data) rewrites its entries before it counts as live again. Its `NodeRecord` (name + token) crosses a binary
//   upgrade, so the new process continues as the same node.
// - `ClusterPresence` / `ClusterPresenceDriver`: one room's view, local entries (this node's, from the room's own
//   coalesced diffs) merged with remote ones (from the room's hash `hf:{room}:presence` and the bus messages of
//   kind `presence`), Phoenix-shaped: one key, many metas. Remote changes leave as coalesced `presence_diff`s;
//   after a Redis outage a `presence_state` goes out only where the view changed.
//
// Lifecycle: start the registry before rooms accept members (a fresh claim clears what an earlier process of
// the same name left behind); create a room's `ClusterPresence` with its first local member; feed it the room's
// diffs, the bus messages, link and subscription events; drop it with the room.
//
// Errors: bad bus payloads are typed errors (`ClusterPresenceMessageError`) for the caller to log; Redis failures
// never trap: a failed write is healed by the rewrite after the link is ready again.
//
// Performance: a local diff is one pipeline (HDEL, HSET, SADD/SREM, one PUBLISH) whatever its size; a remote
// diff costs O(entries in it); `statePayload()` is O(N log N) in the room's metas.
enum HoldfastClusterPresence {}
