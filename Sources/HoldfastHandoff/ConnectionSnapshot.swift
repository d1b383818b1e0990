public import HoldfastAPI
public import HoldfastChannels
public import HoldfastWebSocket

/// Everything one client connection is, apart from its fd: what a binary upgrade hands to the new process with
/// the socket, so the connection continues there byte for byte. The bytes are in `ConnectionSnapshot+Codec.swift`.
public struct ConnectionSnapshot: Sendable, Equatable {
    /// The connection phases that can move (a TLS handshake cannot: OpenSSL's state stays in the old process).
    public enum Phase: UInt8, Sendable {
        /// Reading HTTP requests.
        case http = 0
        /// An open WebSocket.
        case webSocket
        /// Our close frame is out; waiting for the client's close.
        case webSocketClosing
        /// Writing the last queued bytes, then lingering.
        case draining
        /// Our write side is shut; discarding input until EOF or the deadline.
        case lingering
    }

    /// What the WebSocket serves.
    public enum Application: UInt8, Sendable {
        /// Echoes every message.
        case echo = 0
        /// Phoenix Channels.
        case phoenix
    }

    /// The index of the loop that owned it (the new process keeps the spread when it has as many loops).
    public var loopIndex: Int
    /// Whether it came in on the admin listener.
    public var isAdmin: Bool
    /// Whether it came in on the server API's listener.
    public var isAPI: Bool
    /// Whether it was accepted over the connection limit (and is being turned away).
    public var overLimit: Bool
    /// Where in its life the connection is.
    public var phase: Phase
    /// The phase's deadline on the monotonic clock, which both processes share (0: none).
    public var deadline: Int64
    /// Whether to close once the queued bytes are written.
    public var closeWhenFlushed: Bool
    /// Received bytes not processed yet (ciphertext on TLS).
    public var inbound: [UInt8]
    /// TLS: decrypted bytes not processed yet.
    public var plainInbound: [UInt8]
    /// Bytes queued for the socket and not written yet (ciphertext on TLS).
    public var outbound: [UInt8]
    /// The TLS record layer (`TLSRecordLayer.exportState()`), nil on plaintext connections.
    public var tls: [UInt8]?
    /// What the WebSocket serves.
    public var application: Application
    /// The WebSocket's parser and compression state, once upgraded.
    public var webSocket: WebSocketConnectionState?
    /// The Phoenix session, on a Phoenix socket.
    public var phoenix: PhoenixSnapshot?
    /// A server API connection whose publish is not answered yet: the new process answers it here (the rooms
    /// still waiting hold its messages under their tickets).
    public var awaitedPublish: AwaitedPublish?

    /// A snapshot with every field given.
    public init(
        loopIndex: Int, isAdmin: Bool, isAPI: Bool = false, overLimit: Bool, phase: Phase, deadline: Int64,
        closeWhenFlushed: Bool,
        inbound: [UInt8], plainInbound: [UInt8], outbound: [UInt8], tls: [UInt8]?, application: Application,
        webSocket: WebSocketConnectionState?, phoenix: PhoenixSnapshot?, awaitedPublish: AwaitedPublish? = nil
    ) {
        self.loopIndex = loopIndex
        self.isAdmin = isAdmin
        self.isAPI = isAPI
        self.overLimit = overLimit
        self.phase = phase
        self.deadline = deadline
        self.closeWhenFlushed = closeWhenFlushed
        self.inbound = inbound
        self.plainInbound = plainInbound
        self.outbound = outbound
        self.tls = tls
        self.application = application
        self.webSocket = webSocket
        self.phoenix = phoenix
        self.awaitedPublish = awaitedPublish
    }

    /// The names of the fields that differ from `other` (for diagnostics).
    public func differences(from other: ConnectionSnapshot) -> [String] {
        var names: [String] = []
        if phase != other.phase { names.append("phase \(phase)->\(other.phase)") }
        if deadline != other.deadline { names.append("deadline") }
        if closeWhenFlushed != other.closeWhenFlushed { names.append("closeWhenFlushed") }
        if inbound != other.inbound { names.append("inbound \(inbound.count)->\(other.inbound.count)") }
        if plainInbound != other.plainInbound { names.append("plainInbound") }
        if outbound != other.outbound { names.append("outbound") }
        if tls != other.tls { names.append("tls") }
        if webSocket != other.webSocket { names.append("webSocket") }
        if awaitedPublish != other.awaitedPublish { names.append("awaitedPublish") }
        if phoenix?.channels != other.phoenix?.channels { names.append("channels") }
        if phoenix?.joins != other.phoenix?.joins { names.append("joins") }
        if phoenix?.lastReceivedAt != other.phoenix?.lastReceivedAt { names.append("lastReceivedAt") }
        if phoenix?.rateWindowStart != other.phoenix?.rateWindowStart
            || phoenix?.rateWindowCount != other.phoenix?.rateWindowCount
        {
            names.append("rateWindow")
        }
        return names
    }
}

/// A Phoenix socket's session: identity, protocol state and the joins the rooms know it by.
public struct PhoenixSnapshot: Sendable, Equatable {
    /// One room join: the join_ref the room addresses the member with.
    public struct Join: Sendable, Equatable {
        /// The room's topic.
        public var topic: String
        /// The join_ref of the join.
        public var joinRef: String?

        /// A join.
        public init(topic: String, joinRef: String?) {
            self.topic = topic
            self.joinRef = joinRef
        }
    }

    /// The process-wide connection id (presence owners and room members are keyed by it).
    public var connectionID: UInt64
    /// The authenticated user.
    public var user: String
    /// The serializer the client speaks.
    public var version: PhoenixSerializerVersion
    /// The channels as the socket sees them.
    public var channels: [JoinedChannel]
    /// When the last message arrived (monotonic milliseconds), for the heartbeat timeout.
    public var lastReceivedAt: Int64
    /// The current rate-limit window's start.
    public var rateWindowStart: Int64
    /// Messages in the current rate-limit window.
    public var rateWindowCount: Int
    /// The rooms' side of the joins.
    public var joins: [Join]

    /// A session with every field given.
    public init(
        connectionID: UInt64, user: String, version: PhoenixSerializerVersion, channels: [JoinedChannel],
        lastReceivedAt: Int64, rateWindowStart: Int64, rateWindowCount: Int, joins: [Join]
    ) {
        self.connectionID = connectionID
        self.user = user
        self.version = version
        self.channels = channels
        self.lastReceivedAt = lastReceivedAt
        self.rateWindowStart = rateWindowStart
        self.rateWindowCount = rateWindowCount
        self.joins = joins
    }
}
