import HoldfastWebSocket
import HoldfastChannels
import HoldfastCore

/// One connection joined to one room.
///
/// Thread ownership: the immutable fields are read from the room's loop and the connection's loop alike;
/// `connection` is dereferenced only on `loop` (the connection's own loop), which is why the class is
/// `@unchecked Sendable`. The room's bookkeeping about the member (its presence ref) lives in the room.
final class RoomMember: @unchecked Sendable {
    let connectionID: UInt64
    let user: String
    let topic: String
    let joinRef: String?
    let version: PhoenixSerializerVersion
    /// The loop that owns the connection; every delivery to the member runs there.
    unowned let loop: EventLoop
    weak var connection: Connection?

    init(
        connectionID: UInt64, user: String, topic: String, joinRef: String?, version: PhoenixSerializerVersion,
        loop: EventLoop, connection: Connection
    ) {
        self.connectionID = connectionID
        self.user = user
        self.topic = topic
        self.joinRef = joinRef
        self.version = version
        self.loop = loop
        self.connection = connection
    }

    /// Runs `body` with the member's connection on its loop, if the connection is still open then.
    func deliver(_ body: @escaping @Sendable (Connection) -> Void) {
        loop.execute { [self] in
            guard let connection, connection.phase != .closed else { return }
            body(connection)
        }
    }
}

/// A broadcast encoded once per serializer version: the text payload (compressed at most once, for every member
/// that negotiated deflate without context takeover) and the complete unmasked WebSocket frame (copied as is into
/// every uncompressed member's output).
struct EncodedBroadcast: Sendable {
    var v1Payload: SharedDeflate?
    var v1Frame: [UInt8] = []
    var v2Payload: SharedDeflate?
    var v2Frame: [UInt8] = []

    func payload(for version: PhoenixSerializerVersion) -> SharedDeflate? { version == .v1 ? v1Payload : v2Payload }
    func frame(for version: PhoenixSerializerVersion) -> [UInt8] { version == .v1 ? v1Frame : v2Frame }
}
