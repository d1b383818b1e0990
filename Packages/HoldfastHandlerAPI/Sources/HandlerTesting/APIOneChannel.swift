import HoldfastHandlerAPI

/// An API 1 handler as a channel, the way the server adapts one: `authorizeJoin` decides joins (the meta becomes
/// the presence meta, no assigns), `new_msg` is checked by `validateMessage` and stored, `typing` is relayed to the
/// others, every other event is unknown, and stored messages are rendered by `messagePayload`.
final class APIOneChannel: ChannelHandler {
    let handler: any RoomHandler

    init(_ handler: any RoomHandler) { self.handler = handler }

    var version: String { handler.version }
    var topicPattern: String { "*" }
    func exportState() -> [UInt8] { handler.exportState() }
    func stateSummary() -> HandlerValue { handler.stateSummary() }

    func join(topic: String, user: String, params: HandlerValue, context: inout ChannelContext) -> ChannelJoinResult {
        switch handler.authorizeJoin(topic: topic, user: user, payload: params, now: context.now) {
        case .allow(let meta): return .allow(reply: .null, presenceMeta: meta, assigns: .null)
        case .deny(let reason): return .deny(reason: reason)
        }
    }

    func handleIn(event: String, payload: HandlerValue, context: inout ChannelContext) -> [ChannelAction] {
        switch event {
        case "new_msg":
            guard let body = payload["body"]?.stringValue else {
                return [.reply(status: "error", payload: .reason("body must be a string"))]
            }
            if let problem = handler.validateMessage(topic: context.topic, user: context.user, body: body) {
                return [.reply(status: "error", payload: .reason(problem))]
            }
            return [.store(ChannelMessage(user: context.user, body: body, clientID: payload["client_id"]))]
        case "typing":
            return [.broadcastFrom(event: "typing", payload: .object([HandlerMember("user", .string(context.user))]))]
        default:
            return [.reply(status: "error", payload: .reason("unknown event"))]
        }
    }

    func render(message: ChannelMessage, delivery: MessageDelivery, context: ChannelContext) -> HandlerValue {
        guard message.kind == .message else { return message.defaultPayload }
        return handler.messagePayload(
            topic: context.topic, id: message.id, user: message.user, body: message.body,
            timestamp: message.timestamp, clientID: message.clientID, delivery: delivery)
    }
}
