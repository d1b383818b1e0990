// # HoldfastCluster
//
// Several Holdfast nodes sharing rooms and history through one Redis (docs/cluster.md). ``ClusterBus`` is the
// node's side: a command connection per event loop, one pub/sub connection on loop 0, the store script, and the
// routing of bus messages to rooms by `kind` (unknown kinds go to hooks, where presence plugs in).
// ``ClusterRoom`` is a room's side, on its home loop: it stores messages (one script run each), delivers what
// comes back on the bus exactly once and in the store's order (``RoomFeed``), reads history from the Stream and
// subscribes only while the room has members here.
//
// Errors: none thrown past the module's edge: a Redis failure becomes an error reply to the client
// (`{"reason": "unavailable"}`) through ``RoomEvent``s, and a log line.
