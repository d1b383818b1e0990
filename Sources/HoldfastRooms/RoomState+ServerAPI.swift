public import HoldfastJSON
import HoldfastPresence

extension RoomState {
    /// A message from the server API: the handler checks it as a member's, the room numbers it, and it is
    /// broadcast and answered once durable, in order with the members' messages.
    mutating func publish(_ request: PublishRequest, now: RoomInstant, into actions: inout [RoomAction]) {
        var members = [JSONMember("body", .string(request.body))]
        if let clientID = request.clientID { members.append(JSONMember("client_id", .string(clientID))) }
        var context = channelContext(for: nil, user: request.user, now: now)
        let result = handler.handleIn(event: "new_msg", payload: .object(members), context: &context)
        handlerState = context.roomState
        perform(result, origin: .publish(request), now: now, into: &actions)
    }

    /// Reports the membership changes per user after a device of `user` came in (`delta` 1) or went out (-1).
    /// Called after the presence change: a user's devices are its metas in the room's presence.
    mutating func countDevice(of user: String, by delta: Int, into actions: inout [RoomAction]) {
        let after = presence.metaCount(forKey: user)
        let before = max(0, after - delta)
        if before == 0 && after > 0 {
            if presence.keyCount == 1 { actions.append(.membership(.occupied)) }
            actions.append(.membership(.memberAdded(user: user)))
        } else if before > 0 && after == 0 {
            actions.append(.membership(.memberRemoved(user: user)))
            if presence.keyCount == 0 { actions.append(.membership(.vacated)) }
        }
    }

    /// `{"clients": joined connections, "users": distinct users}`.
    public func presenceStats() -> JSONValue {
        .object([
            JSONMember("clients", .integer(Int64(seats.count))),
            JSONMember("users", .integer(Int64(presence.keyCount))),
        ])
    }

    /// A stored message as members receive it in `new_msg`.
    public func messagePayload(_ message: ChatMessage) -> JSONValue { payload(for: message, replay: true) }
}
