public import HoldfastJSON

/// What the server must do after ``ChannelSocketState`` handled an event; actions come in order.
public enum ChannelAction: Sendable, Equatable {
    /// Send a `phx_reply`
    /// (encode with ``PhoenixSerializer/encodeReply(joinRef:ref:topic:status:response:version:into:)``).
    case reply(joinRef: String?, ref: String?, topic: String, status: String, response: JSONValue)
    /// Send a message such as `phx_close` or `phx_error`.
    case push(PhoenixMessage)
    /// Ask the application to authorize and join;
    /// answer with ``ChannelSocketState/completeJoin(topic:joinRef:ref:result:)``.
    case join(topic: String, joinRef: String?, ref: String?, payload: JSONValue)
    /// The channel is gone: the application untracks presence, unsubscribes and so on.
    case leave(topic: String, joinRef: String?)
    /// An application event on a joined topic; the application may answer with a reply carrying `ref`.
    case handleIn(topic: String, event: String, payload: JSONValue, ref: String?, joinRef: String?)
    /// Close the WebSocket.
    case closeSocket(reason: String)
    /// Something worth a log line (bad or refused input); nothing is sent.
    case log(String)
}

/// The `reason` texts of error replies and pushes, shared with tests and clients.
public enum ChannelReason {
    /// A message for a topic this socket has not joined (Phoenix's text).
    public static let unmatchedTopic = "unmatched topic"
    /// A join past ``ChannelSocketLimits/maxTopics`` (Phoenix's text for `max_channels_per_transport`).
    public static let tooManyChannels = "too many channels joined"
    /// A `phx_join` whose payload is not a JSON object.
    public static let invalidJoinPayload = "join payload must be an object"
    /// A frame larger than ``ChannelSocketLimits/maxPayloadBytes``.
    public static let payloadTooLarge = "payload too large"
    /// More than ``ChannelSocketLimits/maxMessagesPerWindow`` messages in one window.
    public static let rateLimited = "rate limited"
    /// A binary push: Holdfast handlers take JSON payloads only.
    public static let binaryUnsupported = "binary payloads are not supported"
    /// The payload of `phx_error` when the server drops a channel on error (Phoenix's text).
    public static let channelCrash = "channel_crash"
}

/// The application's answer to a `.join` action.
public enum JoinResult: Sendable, Equatable {
    /// Joined; the response goes back in the `ok` reply (Phoenix sends `{}` when there is none).
    case ok(JSONValue)
    /// Refused; the response goes back in the `error` reply, for example `{"reason":"unauthorized"}`.
    case error(JSONValue)
}

/// Limits one socket enforces.
public struct ChannelSocketLimits: Sendable, Equatable {
    /// Topics joined or being joined at once; Phoenix's `max_channels_per_transport` (Phoenix: unlimited).
    public var maxTopics: Int
    /// Largest accepted frame in bytes; larger messages get an error reply.
    public var maxPayloadBytes: Int
    /// Silence after which the socket is closed; Phoenix's WebSocket `timeout`, 60 s by default.
    public var heartbeatTimeoutMilliseconds: Int64
    /// Messages accepted per window, heartbeats excluded.
    public var maxMessagesPerWindow: Int
    /// The rate window's length.
    public var rateWindowMilliseconds: Int64

    /// Creates limits; the defaults suit chat rooms.
    public init(
        maxTopics: Int = 100, maxPayloadBytes: Int = 64 * 1024, heartbeatTimeoutMilliseconds: Int64 = 60_000,
        maxMessagesPerWindow: Int = 100, rateWindowMilliseconds: Int64 = 1000
    ) {
        self.maxTopics = maxTopics
        self.maxPayloadBytes = maxPayloadBytes
        self.heartbeatTimeoutMilliseconds = heartbeatTimeoutMilliseconds
        self.maxMessagesPerWindow = maxMessagesPerWindow
        self.rateWindowMilliseconds = rateWindowMilliseconds
    }
}

/// Limits kept once and shared by every socket that enforces them: a server's sockets all hold this one object.
public final class SharedChannelSocketLimits: Sendable, Equatable {
    /// The limits.
    public let limits: ChannelSocketLimits

    /// Keeps `limits` for sharing.
    public init(_ limits: ChannelSocketLimits) { self.limits = limits }

    public static func == (lhs: SharedChannelSocketLimits, rhs: SharedChannelSocketLimits) -> Bool {
        lhs === rhs || lhs.limits == rhs.limits
    }
}

/// One channel of a socket, joined or waiting for the application to finish its join.
public struct JoinedChannel: Sendable, Equatable, TopicKeyed {
    /// Whether the application has accepted the join yet.
    public enum Status: Sendable, Equatable {
        /// A `.join` action is outstanding.
        case joining
        /// Joined: events are delivered.
        case joined
    }

    /// The topic.
    public var topic: String
    /// The `join_ref` of the `phx_join`, as the client sent it (`nil` from v1 clients).
    public var joinRef: String?
    /// The `ref` of the `phx_join`.
    public var joinMessageRef: String?
    /// Joining or joined.
    public var status: Status

    /// Creates a channel record.
    public init(topic: String, joinRef: String?, joinMessageRef: String?, status: Status) {
        self.topic = topic
        self.joinRef = joinRef
        self.joinMessageRef = joinMessageRef
        self.status = status
    }

    /// The join ref a channel's own pushes and replies carry: Phoenix's `join_ref || ref` of the join.
    public var effectiveJoinRef: String? { joinRef ?? joinMessageRef }
}
