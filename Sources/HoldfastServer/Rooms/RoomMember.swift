import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastJSON
import HoldfastRooms
import HoldfastWebSocket

/// Where a room delivers to one joined connection: the Phoenix session of that socket. Every call is made on the
/// connection's own loop (see `RoomRuntime`'s deliveries), so the session needs no locks.
protocol MemberEndpoint: AnyObject {
    /// The connection's id and the authenticated user (immutable, so any thread may read them).
    var connectionID: UInt64 { get }
    var user: String { get }
    /// The room finished this join: the reply, then `extra` pushes; ignored if `member` is no longer the
    /// session's current join of the topic.
    func joinFinished(member: RoomMember, ref: String?, result: JoinResult, extra: [PhoenixMessage])
    /// A reply to a push of the join `joinRef`; dropped if that join is over.
    func reply(topic: String, joinRef: String?, ref: String?, status: String, response: JSONValue)
    /// The room closed the join `joinRef` of `topic` (a kick, a stop).
    func channelClosed(topic: String, joinRef: String?)
    /// A push to the join `joinRef` of `topic`; dropped if that join is over.
    func push(_ message: PhoenixMessage, topic: String, joinRef: String?)
    /// A push encoded as a per-member `prefix` and a `body` shared with other members.
    func pushEncoded(prefix: [UInt8], body: SharedDeflate, topic: String, joinRef: String?)
    /// A run of room broadcasts, each encoded once for every member.
    func deliverBroadcasts(_ run: SharedFrameRun<EncodedBroadcast>, version: PhoenixSerializerVersion)
}

/// One connection joined to one room: the member's identity, its room's mailbox (kept from the join, so a message
/// to the room takes no registry lock) and where to deliver.
///
/// Thread ownership: the immutable fields are read from the room's loop and the connection's loop alike;
/// `endpoint` is called and `isOpen` read and written only on `loop` (the connection's own loop), which is why the
/// class is `@unchecked Sendable`. `room` is set once, before the member is shared (at the join, or when a room is
/// adopted from a binary upgrade before the loops start).
///
/// The endpoint (the socket's session) is held strongly and closes for every member at once when its socket closes
/// (a weak reference cost every member a 32-byte side table): a closed member is never called. The connection id,
/// user, serializer version and that open flag are the session's, so an instance is 72 bytes, one 80-byte chunk.
final class RoomMember: @unchecked Sendable, TopicKeyed {
    var connectionID: UInt64 { endpoint.connectionID }
    let topic: String
    let joinRef: String?
    /// The loop that owns the connection; every delivery to the member runs there.
    unowned let loop: EventLoop
    /// The room's mailbox.
    var room: ActorRef<RoomMessage>?
    let endpoint: PhoenixSession
    var version: PhoenixSerializerVersion { endpoint.version }
    /// False once the connection closed (or its staged copy was dropped): deliveries skip the member.
    var isOpen: Bool { endpoint.isOpen }

    init(topic: String, joinRef: String?, loop: EventLoop, room: ActorRef<RoomMessage>?, endpoint: PhoenixSession) {
        (self.topic, self.joinRef, self.loop, self.room, self.endpoint) = (topic, joinRef, loop, room, endpoint)
    }

    /// The member as the room's state knows it.
    var identity: Member { Member(connectionID: connectionID, user: endpoint.user, joinRef: joinRef, version: version) }
}

/// A broadcast encoded once per serializer version: variant 0 for v1, 1 for v2.
typealias EncodedBroadcast = SharedTextVariants
