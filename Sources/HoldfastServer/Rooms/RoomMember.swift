import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastHandoff
import HoldfastJSON
import HoldfastRooms
import HoldfastWebSocket

/// Where a room delivers to one joined connection: the Phoenix session of that socket, which overrides every method.
/// A class, not a protocol, so that a member holds it in one word (an existential takes two). Every call is made on
/// the connection's own loop (see `RoomRuntime`'s deliveries), so the session needs no locks.
class MemberEndpoint {
    /// The connection's id, the authenticated user and the socket's serializer (immutable: any thread reads them).
    let connectionID: UInt64, user: String, version: PhoenixSerializerVersion
    /// False once the socket closed (or this staged copy was dropped): rooms deliver to none of its members. Read
    /// and written on the connection's loop only.
    final var isOpen = true

    init(connectionID: UInt64, user: String, version: PhoenixSerializerVersion) {
        (self.connectionID, self.user, self.version) = (connectionID, user, version)
    }

    /// The room finished this join: the reply, then `extra` pushes; ignored if `member` is no longer the
    /// session's current join of the topic.
    func joinFinished(member: RoomMember, ref: String?, result: JoinResult, extra: [PhoenixMessage]) { abstract() }
    /// A reply to a push of the join `joinRef`; dropped if that join is over.
    func reply(topic: String, joinRef: String?, ref: String?, status: String, response: JSONValue) { abstract() }
    /// The room closed the join `joinRef` of `topic` (a kick, a stop).
    func channelClosed(topic: String, joinRef: String?) { abstract() }
    /// A push to the join `joinRef` of `topic`; dropped if that join is over.
    func push(_ message: PhoenixMessage, topic: String, joinRef: String?) { abstract() }
    /// A push encoded as a per-member `prefix` and a `body` shared with other members.
    func pushEncoded(prefix: [UInt8], body: SharedDeflate, topic: String, joinRef: String?) { abstract() }
    /// A run of room broadcasts, each encoded once for every member.
    func deliverBroadcasts(_ run: SharedFrameRun<EncodedBroadcast>, version: PhoenixSerializerVersion) { abstract() }

    private func abstract(_ name: StaticString = #function) -> Never { preconditionFailure("\(name) is overridden") }
}

/// One connection joined to one room: the member's identity, its room's mailbox (kept from the join, so a message
/// to the room takes no registry lock) and where to deliver.
///
/// Thread ownership: immutable fields are read from the room's loop and the connection's loop alike; `endpoint` is
/// called and `isOpen` read only on `loop` (the connection's own), hence `@unchecked Sendable`. `room` is set before
/// the member is shared: at the join, or, for a connection handed over by a binary upgrade, when its room's actor is
/// started (staging or the pause), before the loops start. The endpoint is held strongly (a weak reference cost every
/// member a 32-byte side table) and closes for all its members at once: a closed member is never called. The
/// connection id, user, serializer and open flag are the endpoint's, so an instance is 72 bytes, one 80-byte chunk.
final class RoomMember: @unchecked Sendable, TopicKeyed {
    var connectionID: UInt64 { endpoint.connectionID }
    let topic: String
    let joinRef: String?
    /// The loop that owns the connection; every delivery to the member runs there.
    unowned let loop: EventLoop
    /// The room's mailbox.
    var room: ActorRef<RoomMessage>?
    let endpoint: MemberEndpoint
    var version: PhoenixSerializerVersion { endpoint.version }
    /// False once the connection closed (or its staged copy was dropped): deliveries skip the member.
    var isOpen: Bool { endpoint.isOpen }

    init(topic: String, joinRef: String?, loop: EventLoop, room: ActorRef<RoomMessage>?, endpoint: MemberEndpoint) {
        (self.topic, self.joinRef, self.loop, self.room, self.endpoint) = (topic, joinRef, loop, room, endpoint)
    }

    /// The member as the room's state knows it.
    var identity: Member { Member(connectionID: connectionID, user: endpoint.user, joinRef: joinRef, version: version) }
}

extension RoomMember: StagedRoomMember {
    var loopIndex: Int { loop.index }
}

/// A broadcast encoded once per serializer version: variant 0 for v1, 1 for v2.
typealias EncodedBroadcast = SharedTextVariants
