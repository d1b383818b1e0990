import HoldfastActors
import HoldfastChannels
import HoldfastConfig
import HoldfastCore
import HoldfastHandoff
import HoldfastJSON
import HoldfastRooms
import HoldfastWeb
import HoldfastWebSocket
import Logging

/// The Phoenix Channels side of one WebSocket: decodes frames, runs the socket protocol state machine, and
/// turns its actions into replies, pushes and room messages.
///
/// It is the rooms' ``MemberEndpoint`` for its joins: rooms deliver replies, pushes and broadcasts through it.
///
/// Thread ownership: the connection's loop only.
final class PhoenixSession: MemberEndpoint {  // with the endpoint's fields: 184 bytes, one 192-byte malloc chunk
    var state: ChannelSocketState
    /// The current join of each topic (the room holds the same member object), filed by the member's own topic.
    private(set) var joined = TopicKeyedMap<RoomMember>()
    unowned let connection: any SessionTransport
    var rooms: RoomRegistry { connection.context.rooms }

    init(
        connection: any SessionTransport, connectionID: UInt64, user: String, version: PhoenixSerializerVersion,
        limits: SharedChannelSocketLimits
    ) {
        self.connection = connection
        self.state = ChannelSocketState(
            version: version, sharedLimits: limits, now: connection.context.clock.nowMilliseconds())
        super.init(connectionID: connectionID, user: user, version: version)
    }

    private var logger: Logger { connection.logger }

    // MARK: Inbound

    /// A text frame from the client.
    func receiveText(_ frame: UnsafeRawBufferPointer) {
        connection.context.metrics.messagesIn.add()
        let now = connection.context.clock.nowMilliseconds()
        do {
            let message = try PhoenixSerializer.decode(frame, version: version)
            perform(state.receive(message, frameSize: frame.count, now: now))
        } catch {
            connection.context.metrics.protocolErrors.add()
            perform(state.receiveUndecodable(error, now: now))
        }
    }

    /// A binary frame: Phoenix's binary push format, handled by the protocol state (limits, join_ref, the error
    /// reply: Holdfast's chat handlers take JSON only); anything else, or any binary frame from a v1 client, is
    /// an undecodable frame.
    func receiveBinary(_ frame: UnsafeRawBufferPointer) {
        connection.context.metrics.messagesIn.add()
        let now = connection.context.clock.nowMilliseconds()
        do throws(PhoenixDecodeError) {
            guard version == .v2 else { throw .wrongShape("binary frame") }
            let push = try PhoenixSerializer.decodeBinary(frame)
            perform(state.receiveBinary(push, frameSize: frame.count, now: now))
        } catch {
            connection.context.metrics.protocolErrors.add()
            perform(state.receiveUndecodable(error, now: now))
        }
    }

    // MARK: Actions

    private func perform(_ actions: [ChannelAction]) {
        for action in actions {
            switch action {
            case .reply(let joinRef, let ref, let topic, let status, let response):
                if status == "error", let member = joined[topic], member.joinRef == joinRef, ref != joinRef,
                    let room = member.room
                {
                    // A refused push of a joined channel: its reply must not overtake the room's replies to
                    // the member's earlier pushes, so it goes out through the room.
                    room.send(.refuse(connectionID: member.connectionID, ref: ref, response: response))
                } else {
                    send(reply: joinRef, ref: ref, topic: topic, status: status, response: response)
                }
            case .push(let message):
                send(message)
            case .join(let topic, let joinRef, let ref, let payload):
                join(topic: topic, joinRef: joinRef, ref: ref, payload: payload)
            case .leave(let topic, _):
                if let member = joined.removeValue(forKey: topic) {
                    member.room?.send(.leave(connectionID: member.connectionID))
                }
            case .handleIn(let topic, let event, let payload, let ref, let joinRef):
                handleIn(topic: topic, event: event, payload: payload, ref: ref, joinRef: joinRef)
            case .closeSocket(let reason):
                logger.info("closing Phoenix socket", metadata: ["fd": "\(connection.fd)", "reason": "\(reason)"])
                connection.closeWebSocket(code: .normalClosure, reason: reason)
            case .log(let text):
                logger.info("\(text)", metadata: ["fd": "\(connection.fd)", "user": "\(user)"])
            }
        }
    }

    private func join(topic: String, joinRef: String?, ref: String?, payload: JSONValue) {
        guard topic.hasPrefix("room:") else {
            logger.info("join of a topic without a channel", metadata: ["topic": "\(topic)"])
            let response = JSONValue.object([JSONMember("reason", .string("unmatched topic"))])
            perform(state.completeJoin(topic: topic, joinRef: joinRef, ref: ref, result: .error(response)))
            return
        }
        connection.context.metrics.joins.add()
        // The room is looked up once here; every later message of this join goes straight to its mailbox.
        guard let room = rooms.room(topic) else { return }
        let member = RoomMember(topic: topic, joinRef: joinRef, loop: connection.loop, room: room, endpoint: self)
        joined.insert(member)
        // The payload waits in the mailbox while this loop reads the next joiners: a repeat of the previous one is
        // sent as that one, so the decoded copy is freed with this frame instead of between two members' blocks.
        room.send(.join(member, ref: ref, payload: connection.sharedJoinPayload(payload)))
    }

    private func handleIn(topic: String, event: String, payload: JSONValue, ref: String?, joinRef: String?) {
        guard let member = joined[topic] else { return }
        switch event {
        case "server_info":
            let info = WebPages.serverInfo(
                handlerVersion: rooms.handlerVersion, binaryVersion: connection.context.admin.binaryVersion)
            send(reply: joinRef, ref: ref, topic: topic, status: "ok", response: info)
        case "holdfast:crash_room" where connection.context.configuration.server.testHooks:
            logger.warning("test hook: crashing room", metadata: ["topic": "\(topic)"])
            rooms.injectFault(topic: topic)
            send(reply: joinRef, ref: ref, topic: topic, status: "ok", response: .emptyObject)
        case _ where !event.hasPrefix("holdfast:"):
            // Every other event is the channel handler's (an unknown one gets an error reply from it).
            member.room?.send(.handleIn(connectionID: member.connectionID, event: event, payload: payload, ref: ref))
        default:
            // A server hook that is off: Phoenix crashes a channel that has no handler for the event, the client
            // gets phx_error and rejoins. Holdfast does the same, minus the crash.
            logger.info("unknown event on a joined topic", metadata: ["topic": "\(topic)", "event": "\(event)"])
            joined.removeValue(forKey: topic)
            member.room?.send(.leave(connectionID: member.connectionID))
            perform(state.serverClosedChannel(topic: topic, error: true))
        }
    }

    // MARK: Called by rooms (on this loop)

    /// A room finished a join: reply, then the extra pushes (presence_state, missed messages), unless this join
    /// was superseded meanwhile.
    override func joinFinished(member: RoomMember, ref: String?, result: JoinResult, extra: [PhoenixMessage]) {
        guard joined[member.topic] === member else { return }
        connection.sessionStateChanged()
        perform(state.completeJoin(topic: member.topic, joinRef: member.joinRef, ref: ref, result: result))
        guard case .ok = result else {
            joined.removeValue(forKey: member.topic)
            return
        }
        for message in extra { send(message) }
    }

    /// A room closed the join `joinRef` (a kick, a stop): `phx_close`, and the topic is free again.
    override func channelClosed(topic: String, joinRef: String?) {
        guard let member = joined[topic], member.joinRef == joinRef else { return }
        joined.removeValue(forKey: topic)
        perform(state.serverClosedChannel(topic: topic, error: false))
    }

    /// A reply from a room to a push of the join `joinRef`; dropped if that join is over.
    override func reply(topic: String, joinRef: String?, ref: String?, status: String, response: JSONValue) {
        guard let member = joined[topic], member.joinRef == joinRef else { return }
        send(reply: joinRef, ref: ref, topic: topic, status: status, response: response)
    }

    /// A push from a room to the join `joinRef` of `topic`; dropped if that join is over.
    override func push(_ message: PhoenixMessage, topic: String, joinRef: String?) {
        guard let member = joined[topic], member.joinRef == joinRef else { return }
        send(message)
    }

    /// A push already encoded by a room as a per-member `prefix` and a `body` shared with other members, for the
    /// join `joinRef` of `topic`.
    override func pushEncoded(prefix: [UInt8], body: SharedDeflate, topic: String, joinRef: String?) {
        guard let member = joined[topic], member.joinRef == joinRef else { return }
        connection.sendText(prefix: prefix, shared: body)
    }

    /// Room broadcasts: the same bytes for every member.
    override func deliverBroadcasts(_ run: SharedFrameRun<EncodedBroadcast>, version: PhoenixSerializerVersion) {
        connection.sendBroadcasts(run, version: version)
    }

    /// The server API throws the user out: `phx_close` on every channel, leave the rooms, close with `code`.
    func disconnect(code: UInt16, reason: String) {
        for member in joined.values {
            send(PhoenixMessage(joinRef: member.joinRef, ref: member.joinRef, topic: member.topic, event: "phx_close",
                payload: .emptyObject))
        }
        connectionClosed()
        connection.closeWebSocket(code: WebSocketCloseCode(rawValue: code), reason: reason)
    }

    /// The socket is gone: leave every room (`leaveRooms: false` for a dropped staged copy, whose joins are its
    /// replacement's); rooms that still hold a member until the leave arrives no longer reach this session.
    func connectionClosed(leaveRooms: Bool = true) {
        for member in joined.values where leaveRooms { member.room?.send(.leave(connectionID: member.connectionID)) }
        isOpen = false
        joined.removeAll()
    }

    // MARK: Binary upgrade

    /// The session for a handoff record.
    func snapshot() -> PhoenixSnapshot {
        PhoenixSnapshot(
            connectionID: connectionID, user: user, version: version,
            channels: state.channels.values.sorted { $0.topic < $1.topic },
            lastReceivedAt: state.lastReceivedAt, rateWindowStart: state.rateWindowStart,
            rateWindowCount: state.rateWindowCount,
            joins: joined.values.map { PhoenixSnapshot.Join(topic: $0.topic, joinRef: $0.joinRef) }.sorted {
                $0.topic < $1.topic
            })
    }

    /// Restores a handed-over session's protocol state and room joins; returns the members, which the adopted
    /// rooms must hold (the same objects: a join is recognised by identity).
    func restore(from snapshot: PhoenixSnapshot) -> [RoomMember] {
        for channel in snapshot.channels { state.channels[channel.topic] = channel }
        state.lastReceivedAt = snapshot.lastReceivedAt
        state.rateWindowStart = snapshot.rateWindowStart
        state.rateWindowCount = snapshot.rateWindowCount
        var members: [RoomMember] = []
        for join in snapshot.joins {
            // The room is pointed at when it is adopted (before the loops run).
            let member = RoomMember(
                topic: join.topic, joinRef: join.joinRef, loop: connection.loop, room: nil, endpoint: self)
            joined.insert(member)
            members.append(member)
        }
        return members
    }

    // MARK: Encoding

    private func send(reply joinRef: String?, ref: String?, topic: String, status: String, response: JSONValue) {
        var text: [UInt8] = []
        PhoenixSerializer.encodeReply(
            joinRef: joinRef, ref: ref, topic: topic, status: status, response: response, version: version, into: &text)
        connection.sendText(text)
    }

    private func send(_ message: PhoenixMessage) {
        var text: [UInt8] = []
        PhoenixSerializer.encode(message, version: version, into: &text)
        connection.sendText(text)
    }
}
