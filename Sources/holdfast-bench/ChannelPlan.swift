import HoldfastCore

/// What a channel scenario asks of every loop.
struct ChannelPlan: Sendable {
    enum Scenario: Sendable { case broadcast, presenceBurst, chat }

    var scenario: Scenario
    /// The first node's endpoint (the only one with a single node).
    var target: Target
    /// With several nodes, every node's plain endpoint in order (`target` first); connections are spread over
    /// them by ``node(of:)``. Empty: `target` alone.
    var nodes: [Target] = []
    /// The connections that use TLS instead of `target`, if any.
    var tls: TLSMix?
    var signer: TokenSigner
    var topic: String
    /// Handshakes (broadcast: handshakes plus joins) in progress at once, per loop.
    var concurrency: Int
    /// broadcast: body bytes, total rate of this loop's publishers (nil: closed loop), acks outstanding per publisher.
    var size = 64
    var rate: Double?
    var inFlight = 1
    /// broadcast: speak raw WebSocket instead of Phoenix (no token, join or heartbeat; see ``RawBroadcast``).
    var raw = false
    /// presence-burst: users every member must see, and joins in progress at once per loop.
    var expectedMembers = 0
    var joinConcurrency = 64
    /// Offer permessage-deflate (server_no_context_takeover); compressed messages are decoded through an
    /// ``InflateCache`` per loop.
    var deflate = false
    /// chat: rooms (user `c<i>` joins room `i % rooms`) and users over all processes; `rate` is per loop.
    var rooms = 1
    var users = 0
    /// chat: keep every message's send time and every failure's time, for the `upgrade` scenario's per-upgrade
    /// figures (see ``Timeline``).
    var timeline = false
    /// chat: a member whose connection drops reconnects with ``ReconnectBackoff`` and rejoins its room with
    /// `last_seen_id` (see `ChannelClient+Reconnect.swift`); drops are counted instead of failing the run.
    var reconnect = false
    /// soak: the share of the members that leave cleanly and come back each minute (spread over the minute), and
    /// the share of chat messages a `typing` notice goes before.
    var churnPerMinute = 0.0
    var typingShare = 0.0

    /// The plain endpoint of node `node`.
    func endpoint(node: Int) -> Target { nodes.isEmpty ? target : nodes[node % nodes.count] }

    /// The node (index into ``nodes``) that connection number `number` connects to: round-robin over each
    /// room's members in user order (user `i` is member `i / rooms` of room `i % rooms`), so every room with
    /// at least as many members as there are nodes has members on every node.
    func node(of number: Int) -> Int {
        (number / max(1, rooms)) % max(1, nodes.count)
    }

    /// chat: the topic of room `room`.
    static func chatTopic(_ room: Int) -> String { "room:chat\(room)" }
}

/// What one connection of a channel scenario does.
enum ChannelRole: Sendable {
    /// broadcast: joins, then counts and times `new_msg` deliveries.
    case subscriber
    /// broadcast: joins, then sends `new_msg` and times the replies.
    case publisher
    /// presence-burst: joins on `begin` and tracks the room's presence.
    case member
    /// chat: joins its room, sends `new_msg` and checks every other member's messages.
    case chatter
}

/// Progress a channel loop publishes to the coordinating thread.
struct ChannelProgress: Sendable {
    var settled = 0
    var live = 0
    var pendingAcks = 0
    var acked: UInt64 = 0
    var deliveries: UInt64 = 0
    var subscribersJoined = 0
    var membersJoinable = 0
    var membersComplete = 0
    /// chat with reconnect: members that lost their connection (or left on purpose) and are not joined again.
    var reconnecting = 0
    var result: ChannelResult?
    /// soak: the counts so far, once asked for with ``ChannelClient/publishSample()``.
    var sample: ChannelResult?
}
