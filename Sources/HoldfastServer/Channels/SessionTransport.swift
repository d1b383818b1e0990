import HoldfastChannels
import HoldfastCore
import HoldfastJSON
import HoldfastWebSocket
import Logging

/// The socket under a Phoenix session, as the session sees it: where its frames go and what it shares with the
/// rest of the server. `Connection` implements it; the session depends on this seam, not on the connection.
///
/// Thread ownership: every member is used on ``loop`` only.
protocol SessionTransport: AnyObject {
    var fd: Int32 { get }
    /// The loop that owns the socket.
    var loop: EventLoop { get }
    var logger: Logger { get }
    /// What every connection of the server shares (clock, metrics, configuration, rooms).
    var context: ServerContext { get }
    /// Queues one text message.
    func sendText(_ text: [UInt8])
    /// Queues one text message made of a per-member `prefix` and a `shared` body encoded for many members.
    func sendText(prefix: [UInt8], shared: SharedDeflate)
    /// Queues room broadcasts, each encoded once for every member.
    func sendBroadcasts(_ run: SharedFrameRun<EncodedBroadcast>, version: PhoenixSerializerVersion)
    /// Starts the WebSocket closing handshake.
    func closeWebSocket(code: WebSocketCloseCode, reason: String)
    /// `payload`, or the loop's kept copy of the previous join's payload when it encodes alike (see
    /// ``RepeatedJSONSharing``: a burst's payloads waiting for their room then leave no holes between its members).
    func sharedJoinPayload(_ payload: JSONValue) -> JSONValue
    /// The session's state changed in a way a binary upgrade must carry (a join completed).
    func sessionStateChanged()
}
