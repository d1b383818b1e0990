import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastHandoff
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
/// class is `@unchecked Sendable`. `room` is set before the member is shared: at the join, or, for a connection
/// handed over by a binary upgrade, when its room's actor is started (staging or the pause), before the loops start.
///
/// The endpoint is held strongly and the session clears `isOpen` when its socket closes (a weak reference cost
/// every member a 32-byte side table; the user and connection id are the session's): a closed member is never called.
final class RoomMember: @unchecked Sendable {
    var connectionID: UInt64 { endpoint.connectionID }
    let topic: String
    let joinRef: String?
    /// The loop that owns the connection; every delivery to the member runs there.
    unowned let loop: EventLoop
    /// The room's mailbox.
    var room: ActorRef<RoomMessage>?
    let endpoint: any MemberEndpoint
    let version: PhoenixSerializerVersion
    /// False once the connection closed (or its staged copy was dropped): deliveries skip the member.
    var isOpen = true

    init(
        topic: String, joinRef: String?, version: PhoenixSerializerVersion, loop: EventLoop,
        room: ActorRef<RoomMessage>?, endpoint: any MemberEndpoint
    ) {
        (self.topic, self.joinRef, self.version) = (topic, joinRef, version)
        (self.loop, self.room, self.endpoint) = (loop, room, endpoint)
    }

    /// The member as the room's state knows it.
    var identity: Member { Member(connectionID: connectionID, user: endpoint.user, joinRef: joinRef, version: version) }
}

extension RoomMember: StagedRoomMember {
    var loopIndex: Int { loop.index }
}

/// A broadcast encoded once per serializer version: variant 0 for v1, 1 for v2.
typealias EncodedBroadcast = SharedTextVariants
