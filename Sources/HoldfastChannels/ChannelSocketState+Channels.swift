import HoldfastJSON

extension ChannelSocketState {
    /// Handles `phx_join`.
    ///
    /// - Topic already joined or joining: Phoenix shuts the old channel down (`shutdown_duplicate_channel`),
    ///   sends `phx_close` for the old join_ref and then joins anew. Holdfast returns `.leave` for the old
    ///   join (only if it had been accepted), the `phx_close`, then handles the join as new. phoenix.js
    ///   ignores the `phx_close` because its join_ref is no longer the channel's.
    /// - Joined and joining topics at ``ChannelSocketLimits/maxTopics``: error reply
    ///   `{"reason":"too many channels joined"}` with join_ref and ref (Phoenix's text and shape).
    /// - Payload not an object: error reply (Holdfast; Phoenix hands any payload to the channel's `join/3`).
    /// - Otherwise: the topic is marked joining and a `.join` action asks the application.
    public mutating func receiveJoin(_ message: PhoenixMessage) -> [ChannelAction] {
        var actions: [ChannelAction] = []
        if let old = channels.removeValue(forKey: message.topic) {
            if old.status == .joined { actions.append(.leave(topic: old.topic, joinRef: old.joinRef)) }
            actions.append(closePush(old))
        }
        guard case .object = message.payload else {
            actions.append(errorReply(to: message, ChannelReason.invalidJoinPayload))
            return actions
        }
        guard channels.count < limits.maxTopics else {
            actions.append(.log("join of \"\(message.topic)\" refused: \(limits.maxTopics) channels joined"))
            actions.append(errorReply(to: message, ChannelReason.tooManyChannels))
            return actions
        }
        channels[message.topic] = JoinedChannel(
            topic: message.topic, joinRef: message.joinRef, joinMessageRef: message.ref, status: .joining)
        actions.append(
            .join(topic: message.topic, joinRef: message.joinRef, ref: message.ref, payload: message.payload))
        return actions
    }

    /// Handles `phx_leave`.
    ///
    /// - Joined (join_ref `null` or the current one): Phoenix's channel replies `ok` `{}` and stops, and the
    ///   socket then sends `phx_close`. Holdfast returns `.leave`, that reply (carrying the channel's join
    ///   ref) and the `phx_close`. A leave while the join is still pending cancels it the same way; the
    ///   application's late ``completeJoin(topic:joinRef:ref:result:)`` then yields `.leave`.
    /// - Stale join_ref: ignored, no reply (Phoenix: "the client has raced a server close").
    /// - Not joined: an `ok` reply with `{}` and the message's join_ref, and no `phx_close` (Phoenix).
    public mutating func receiveLeave(_ message: PhoenixMessage) -> [ChannelAction] {
        guard let channel = channels[message.topic] else {
            return [
                .reply(
                    joinRef: message.joinRef, ref: message.ref, topic: message.topic, status: "ok",
                    response: .emptyObject)
            ]
        }
        guard message.joinRef == nil || message.joinRef == channel.joinRef else { return [] }
        channels.removeValue(forKey: message.topic)
        var actions: [ChannelAction] = []
        if channel.status == .joined { actions.append(.leave(topic: channel.topic, joinRef: channel.joinRef)) }
        actions.append(
            .reply(
                joinRef: channel.effectiveJoinRef, ref: message.ref, topic: message.topic, status: "ok",
                response: .emptyObject))
        actions.append(closePush(channel))
        return actions
    }

    /// Handles any other event.
    ///
    /// - Joined, join_ref `null` or current: `.handleIn` (Phoenix accepts a `null` join_ref from v1 clients).
    /// - Joined, stale join_ref: ignored, no reply (Phoenix: "stale message to a previous join_ref").
    /// - Not joined: error reply `{"reason":"unmatched topic"}` with ref and a `null` join_ref, and nothing
    ///   else (Phoenix's `encode_ignore`; it sends no `phx_close`).
    /// - Join still pending: the same `unmatched topic` reply. Phoenix joins synchronously, so it has no
    ///   such state; phoenix.js buffers pushes until the join is acknowledged, so it never sends them.
    public mutating func receiveEvent(_ message: PhoenixMessage) -> [ChannelAction] {
        guard let channel = channels[message.topic], channel.status == .joined else {
            return [unmatchedTopicReply(message)]
        }
        guard message.joinRef == nil || message.joinRef == channel.joinRef else { return [] }
        return [
            .handleIn(
                topic: message.topic, event: message.event, payload: message.payload, ref: message.ref,
                joinRef: message.joinRef)
        ]
    }

    /// The application finished a join asked for by a `.join` action.
    ///
    /// The reply carries the join's join_ref and ref, `ok` or `error` with the response (Phoenix's join
    /// reply). On `ok` the channel is joined; on `error` it is forgotten. A completion for a join that was
    /// since replaced, left or closed is stale: an accepted one yields `.leave` so the application can
    /// undo it; nothing is sent to the client.
    public mutating func completeJoin(
        topic: String, joinRef: String?, ref: String?, result: JoinResult
    ) -> [ChannelAction] {
        guard var channel = channels[topic], channel.status == .joining, channel.joinRef == joinRef,
            channel.joinMessageRef == ref
        else {
            if case .ok = result { return [.leave(topic: topic, joinRef: joinRef)] }
            return []
        }
        switch result {
        case .ok(let response):
            channel.status = .joined
            channels[topic] = channel
            return [.reply(joinRef: joinRef, ref: ref, topic: topic, status: "ok", response: response)]
        case .error(let response):
            channels.removeValue(forKey: topic)
            return [.reply(joinRef: joinRef, ref: ref, topic: topic, status: "error", response: response)]
        }
    }

    /// The server closes a channel by itself (a room shut down, a kick, a crash).
    ///
    /// Phoenix sends `phx_close` `{}` when a channel stops normally (`{:socket_close, …}`) and `phx_error`
    /// `{"reason":"channel_crash"}` when it exits abnormally (`encode_on_exit`), both with the channel's
    /// join_ref as join_ref and ref. No `.leave` is returned: the server already knows. Unknown topics
    /// yield nothing.
    public mutating func serverClosedChannel(topic: String, error: Bool) -> [ChannelAction] {
        guard let channel = channels.removeValue(forKey: topic) else { return [] }
        guard error else { return [closePush(channel)] }
        return [
            .push(
                PhoenixMessage(
                    joinRef: channel.joinRef, ref: channel.joinRef, topic: topic, event: "phx_error",
                    payload: .object([JSONMember("reason", .string(ChannelReason.channelCrash))])))
        ]
    }
}
