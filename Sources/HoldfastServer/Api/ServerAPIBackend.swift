import HoldfastAPI
import HoldfastActors
import HoldfastCluster
import HoldfastCore
import HoldfastHTTP
import HoldfastHistory
import HoldfastJSON
import HoldfastRooms
import Synchronization

/// The server API on this node: rooms through their mailboxes, sockets through their loops (the cluster: APIPeers).
final class ServerAPIBackend: APIBackend {
    private let registry: RoomRegistry
    /// Each loop's connections, once the listeners are installed (start or takeover).
    private let loops = Mutex<[(EventLoop, LoopConnections)]>([])

    init(rooms: RoomRegistry) { registry = rooms }

    func attach(_ perLoop: [LoopConnections]) { loops.withLock { $0 = Array(zip(registry.eventLoops, perLoop)) } }

    func publishMessage(
        topic: String, user: String, body: String, clientID: String?, ticket: UInt64,
        completion: @escaping @Sendable (Result<Int64, APIError>) -> Void
    ) {
        let request = PublishRequest(user: user, body: body, clientID: clientID, ticket: ticket)
        let sent = registry.room(topic)?.send(.publish(request) { completion($0.apiResult) })
        if sent != true { completion(.failure(.roomUnavailable(topic))) }
    }

    func broadcastEvent(topic: String, event: String, payload: JSONValue) {
        if let room = registry.existingRoom(topic) { return _ = room.send(.publishEvent(event: event, payload: payload)) }
        // No room here, so no member here; on a cluster the other nodes' members get it over the room's bus.
        guard let cluster = registry.cluster, let loop = registry.eventLoops.first else { return }
        let members = [JSONMember("event", .string(event)), JSONMember("payload", payload)]
        loop.execute { cluster.publish(topic: topic, kind: "event", members, on: loop) }
    }

    func presence(topic: String, completion: @escaping @Sendable (JSONValue) -> Void) {
        inspect(topic, empty: .emptyObject, completion) { state, _ in state.presencePayload }
    }

    func presenceStats(topic: String, completion: @escaping @Sendable (JSONValue) -> Void) {
        let empty = JSONValue.object([JSONMember("clients", .integer(0)), JSONMember("users", .integer(0))])
        inspect(topic, empty: empty, completion) { state, _ in state.presenceStats() }
    }

    func history(
        topic: String, sinceID: Int64, limit: Int, completion: @escaping @Sendable (Result<JSONValue, APIError>) -> Void
    ) {
        let cluster = registry.cluster
        let sent = registry.room(topic)?.send(
            .inspect { state, store in
                let answer = { (found: [ChatMessage]?) in
                    guard let found else {
                        return completion(
                            .failure(APIError(.serviceUnavailable, "history_unavailable", "history read failed")))
                    }
                    let messages = JSONValue.array(found.map { state.messagePayload($0) })
                    let lastID = JSONMember("last_id", .integer(state.lastID))
                    completion(.success(.object([JSONMember("messages", messages), lastID])))
                }
                // Clustered: the room's Stream in Redis, read on this (the room's) loop.
                if let cluster { return cluster.read(topic, after: sinceID, count: limit) { answer(try? $0.get()) } }
                answer((try? store.messages(room: topic, after: sinceID, limit: limit))?.messages.map(ChatMessage.init))
            })
        if sent != true { completion(.failure(.roomUnavailable(topic))) }
    }

    func disconnect(user: String, code: UInt16, reason: String, completion: @escaping @Sendable (Int) -> Void) {
        let all = loops.withLock { $0 }
        let tally = Mutex((closed: 0, loopsLeft: all.count))
        if all.isEmpty { return completion(0) }
        for (loop, connections) in all {
            loop.execute {
                let mine = connections.connections.filter { $0.phase == .webSocket && $0.phoenix?.user == user }
                for connection in mine { connection.phoenix?.disconnect(code: code, reason: reason) }
                let done = tally.withLock {
                    $0.closed += mine.count
                    $0.loopsLeft -= 1
                    return $0.loopsLeft == 0 ? $0.closed : nil
                }
                if let done { completion(done) }
            }
        }
    }

    func rooms() -> [(topic: String, members: Int)] { registry.sizes }

    /// Runs `read` on the room's loop if the room was started; `empty` otherwise.
    private func inspect(
        _ topic: String, empty: JSONValue, _ completion: @escaping @Sendable (JSONValue) -> Void,
        read: @escaping @Sendable (RoomState, HistoryStore) -> JSONValue
    ) {
        guard let room = registry.existingRoom(topic), room.send(.inspect({ completion(read($0, $1)) })) else {
            return completion(empty)
        }
    }
}
