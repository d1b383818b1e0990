import HoldfastHandlerAPI
import HoldfastJSON
import HoldfastRooms
import HoldfastUpgrade

/// The rooms' ``ChatHandler`` backed by whichever handler plugin is current in the registry (`libChatHandlers.so`
/// or one swapped in later), converting Holdfast's JSON values to the plugin interface's values directly (no JSON
/// text in between). Reading the current handler is one lock and a retain, so an upgrade publishes the new code
/// with one swap; rooms are suspended around that swap, so no call sees the old code after the new one has its
/// state.
struct PluginChatHandler: ChatHandler {
    let registry: PluginRegistry

    private var current: any RoomHandler {
        guard let handler = registry.handler else { preconditionFailure("handler plugin not started") }
        return handler
    }

    var version: String { registry.current?.version ?? "none" }

    func authorizeJoin(topic: String, user: String, payload: JSONValue, now: Int64) -> JoinDecision {
        switch current.authorizeJoin(topic: topic, user: user, payload: HandlerValue(payload), now: now) {
        case .allow(let meta): .allow(presenceMeta: JSONValue(meta))
        case .deny(let reason): .deny(reason: reason)
        }
    }

    func validateMessage(topic: String, user: String, body: String) -> String? {
        current.validateMessage(topic: topic, user: user, body: body)
    }

    func messagePayload(
        topic: String, id: Int64, user: String, body: String, timestamp: Int64, clientID: JSONValue?, replay: Bool
    ) -> JSONValue {
        JSONValue(
            current.messagePayload(
                topic: topic, id: id, user: user, body: body, timestamp: timestamp,
                clientID: clientID.map { HandlerValue($0) }, delivery: replay ? .replay : .live))
    }
}
