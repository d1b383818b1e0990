import HoldfastJSON

// HoldfastChannels: the Phoenix Channels protocol as pure values.
//
// Contract: the server decodes frames with PhoenixSerializer, feeds them to the socket's ChannelSocketState
// with the current monotonic time in milliseconds, and performs the returned ChannelActions in order
// (encoding replies and pushes with the same serializer version). Nothing here does I/O, reads a clock or
// keeps closures, so a socket's state can be copied out of one process and into the next on redeploy.
// Peer faults never trap: they become error replies, log actions or a close.

/// The protocol state of one Phoenix socket: its channels, its heartbeat clock and its rate window.
///
/// Every stored property is a plain public value, so the state can be exported (read the properties) and
/// imported (create with ``init(version:limits:now:)`` and assign them) across a redeploy.
///
/// Behaviour follows `Phoenix.Socket` (`lib/phoenix/socket.ex`) and `Phoenix.Channel.Server`
/// (`lib/phoenix/channel/server.ex`); each method says where Holdfast differs.
public struct ChannelSocketState: Sendable, Equatable {
    /// The limits enforced, one copy for every socket that shares them (a reference where the limits took 40
    /// bytes of every socket).
    public var sharedLimits: SharedChannelSocketLimits
    /// Channels by topic, joined or joining.
    public var channels: TopicKeyedMap<JoinedChannel>
    /// When the last frame of any kind arrived (ms).
    public var lastReceivedAt: Int64
    /// Start of the current rate window (ms).
    public var rateWindowStart: Int64
    /// Messages counted in the current rate window.
    public var rateWindowCount: Int
    /// The wire format of this socket (last: a one-byte field between two pointers would pad to eight).
    public var version: PhoenixSerializerVersion

    /// Creates the state of a socket that just connected at `now` (ms).
    public init(version: PhoenixSerializerVersion, limits: ChannelSocketLimits = ChannelSocketLimits(), now: Int64) {
        self.init(version: version, sharedLimits: SharedChannelSocketLimits(limits), now: now)
    }

    /// Creates the state of a socket that just connected at `now` (ms), enforcing limits shared with other sockets.
    public init(version: PhoenixSerializerVersion, sharedLimits: SharedChannelSocketLimits, now: Int64) {
        self.version = version
        self.sharedLimits = sharedLimits
        self.channels = TopicKeyedMap()
        self.lastReceivedAt = now
        self.rateWindowStart = now
        self.rateWindowCount = 0
    }

    /// The limits enforced; assigning gives this socket limits of its own.
    public var limits: ChannelSocketLimits {
        get { sharedLimits.limits }
        set { sharedLimits = SharedChannelSocketLimits(newValue) }
    }

    /// The joined channels (not those still joining), by topic.
    public var joinedTopics: [JoinedChannel] {
        channels.values.filter { $0.status == .joined }.sorted { $0.topic < $1.topic }
    }

    /// The join ref of the current join of `topic`, for pushes the application sends on that channel;
    /// `nil` when not joined.
    ///
    /// Phoenix's channel pushes carry the channel's `join_ref || ref`; broadcasts sent through the
    /// fastlane carry no join ref at all (``PhoenixSerializer/encodeBroadcast(topic:event:payload:version:into:)``).
    public func joinRef(for topic: String) -> String? {
        guard let channel = channels[topic], channel.status == .joined else { return nil }
        return channel.effectiveJoinRef
    }

    /// Records that a frame of any kind arrived (for example a WebSocket ping); the heartbeat clock
    /// counts all received data, as Phoenix's WebSocket idle timeout does.
    public mutating func noteActivity(now: Int64) {
        lastReceivedAt = max(lastReceivedAt, now)
    }

    /// Returns `.closeSocket` when nothing arrived within the heartbeat timeout.
    ///
    /// Phoenix closes a WebSocket after `timeout` (60 s) without received data; phoenix.js sends a
    /// heartbeat every 30 s, so a live client never trips it.
    public func checkHeartbeat(now: Int64) -> ChannelAction? {
        guard now - lastReceivedAt >= limits.heartbeatTimeoutMilliseconds else { return nil }
        return .closeSocket(reason: "heartbeat timeout")
    }

    /// Handles a frame that failed to decode.
    ///
    /// Phoenix's serializers raise on such frames (`Jason.decode!`, the `[join_ref, ref, topic, event,
    /// payload | _]` match, `Message.from_map!`), which ends the socket process and closes the connection
    /// with all its channels. Holdfast does the same: log, then close.
    public mutating func receiveUndecodable(_ error: PhoenixDecodeError, now: Int64) -> [ChannelAction] {
        noteActivity(now: now)
        return [.log("closing socket: \(error)"), .closeSocket(reason: "invalid message")]
    }

    /// Handles a binary push (v2). Holdfast's handlers take JSON payloads only, so a push on a joined
    /// topic gets an error reply (and a log line); on any other topic the `unmatched topic` reply, as for text
    /// messages. Size and rate limits apply as in ``receive(_:frameSize:now:)``, and a stale join_ref is
    /// ignored as in ``receiveEvent(_:)``.
    public mutating func receiveBinary(_ push: BinaryPush, frameSize: Int, now: Int64) -> [ChannelAction] {
        noteActivity(now: now)
        let probe = PhoenixMessage(
            joinRef: push.joinRef, ref: push.ref, topic: push.topic, event: push.event, payload: .null)
        if let refused = refuseOverLimits(probe, frameSize: frameSize, now: now) { return refused }
        if let channel = channels[push.topic], channel.status == .joined {
            guard push.joinRef == nil || push.joinRef == channel.joinRef else { return [] }
            return [
                .log("refused binary push \"\(push.event)\" on \"\(push.topic)\""),
                errorReply(to: probe, ChannelReason.binaryUnsupported),
            ]
        }
        return [unmatchedTopicReply(probe)]
    }

    /// Handles one decoded message that arrived at `now` (ms) in a frame of `frameSize` bytes.
    ///
    /// - `heartbeat` on topic `phoenix`: an `ok` reply with `{}` (join_ref `null`), whatever else is
    ///   joined; exempt from the rate limit (Phoenix: first `handle_in` clause).
    /// - A frame over ``ChannelSocketLimits/maxPayloadBytes`` or past the rate limit: an error reply
    ///   (Holdfast limits; Phoenix has only `max_frame_size`, which closes the socket).
    /// - `phx_join`, `phx_leave` and other events: see ``receiveJoin(_:)``, ``receiveLeave(_:)`` and
    ///   ``receiveEvent(_:)``.
    public mutating func receive(_ message: PhoenixMessage, frameSize: Int = 0, now: Int64) -> [ChannelAction] {
        noteActivity(now: now)
        if message.topic == "phoenix", message.event == "heartbeat" {
            if frameSize > limits.maxPayloadBytes { return [errorReply(to: message, ChannelReason.payloadTooLarge)] }
            return [.reply(joinRef: nil, ref: message.ref, topic: "phoenix", status: "ok", response: .emptyObject)]
        }
        if let refused = refuseOverLimits(message, frameSize: frameSize, now: now) { return refused }
        switch message.event {
        case "phx_join": return receiveJoin(message)
        case "phx_leave": return receiveLeave(message)
        default: return receiveEvent(message)
        }
    }

    /// Counts the message in the rate window and returns the error reply if a limit refuses it.
    private mutating func refuseOverLimits(_ message: PhoenixMessage, frameSize: Int, now: Int64) -> [ChannelAction]? {
        if frameSize > limits.maxPayloadBytes {
            return [
                .log("refused \(frameSize)-byte message on \"\(message.topic)\""),
                errorReply(to: message, ChannelReason.payloadTooLarge),
            ]
        }
        if now - rateWindowStart >= limits.rateWindowMilliseconds || now < rateWindowStart {
            rateWindowStart = now
            rateWindowCount = 0
        }
        rateWindowCount += 1
        guard rateWindowCount > limits.maxMessagesPerWindow else { return nil }
        let reply = errorReply(to: message, ChannelReason.rateLimited)
        // One log line per window, not one per refused message.
        if rateWindowCount == limits.maxMessagesPerWindow + 1 { return [.log("socket rate limited"), reply] }
        return [reply]
    }

    func errorReply(to message: PhoenixMessage, _ reason: String) -> ChannelAction {
        .reply(
            joinRef: message.joinRef, ref: message.ref, topic: message.topic, status: "error",
            response: .object([JSONMember("reason", .string(reason))]))
    }

    /// Phoenix's `encode_ignore`: an error reply without join_ref.
    func unmatchedTopicReply(_ message: PhoenixMessage) -> ChannelAction {
        .reply(
            joinRef: nil, ref: message.ref, topic: message.topic, status: "error",
            response: .object([JSONMember("reason", .string(ChannelReason.unmatchedTopic))]))
    }

    /// Phoenix's `encode_close`: `phx_close` with the channel's join_ref as both join_ref and ref.
    func closePush(_ channel: JoinedChannel) -> ChannelAction {
        .push(
            PhoenixMessage(
                joinRef: channel.joinRef, ref: channel.joinRef, topic: channel.topic, event: "phx_close",
                payload: .emptyObject))
    }
}
