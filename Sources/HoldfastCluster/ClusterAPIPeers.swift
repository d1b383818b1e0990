public import HoldfastAPI
import HoldfastClusterPresence
import HoldfastCore
import HoldfastJSON
import HoldfastRedis
import Logging

/// The server API across the cluster: `POST /api/disconnect` is published on the cluster-wide control channel
/// (`hf:cluster:control`, kind `disconnect`), where every other node closes its sockets of the user and records the
/// per-user "not before" in its own state dir; presence is read from the room's Redis hash, which holds every
/// node's entries.
///
/// Thread ownership: any thread; Redis work runs on a loop of the bus.
final class ClusterAPIPeers: APIPeers {
    static let channel = "hf:cluster:control"
    let bus: ClusterBus

    init(bus: ClusterBus) { self.bus = bus }

    func disconnect(user: String, code: UInt16, reason: String, notBefore: Int64?) {
        var members = [
            JSONMember("user", .string(user)), JSONMember("code", .integer(Int64(code))),
            JSONMember("reason", .string(reason)),
        ]
        if let notBefore { members.append(JSONMember("not_before", .integer(notBefore))) }
        let bytes = BusEnvelope.encode(kind: "disconnect", origin: bus.origin, members)
        onALoop { [bus] loop in
            let client = bus.client(for: loop)
            bus.whenStarted(on: loop) {
                client.publish(Self.channel, bytes) { result in
                    if case .failure(let error) = result {
                        bus.logger.error(
                            "disconnect not published to the other nodes", metadata: ["error": "\(error)"])
                    }
                }
            }
        }
    }

    func presence(topic: String, completion: @escaping @Sendable (JSONValue?) -> Void) {
        let key = HoldfastClusterPresence.ClusterKeys().presence(room: topic)
        onALoop { [bus] loop in
            let client = bus.client(for: loop)
            bus.whenStarted(on: loop) {
                client.send(["HGETALL", RedisArgument(key)]) { result in
                    guard let flat = (try? result.get())?.array, flat.count % 2 == 0 else { return completion(nil) }
                    var entries: [ClusterPresenceEntry] = []
                    for index in stride(from: 0, to: flat.count, by: 2) {
                        guard let field = flat[index].string, let value = flat[index + 1].bytes,
                            let entry = ClusterPresenceEntry(field: field, value: value)
                        else { continue }
                        entries.append(entry)
                    }
                    completion(Self.payload(entries))
                }
            }
        }
    }

    /// `{key: {"metas": [...]}}`, keys and metas sorted (hash order is arbitrary).
    static func payload(_ entries: [ClusterPresenceEntry]) -> JSONValue {
        var byKey: [String: [ClusterPresenceEntry]] = [:]
        for entry in entries { byKey[entry.key, default: []].append(entry) }
        return .object(
            byKey.keys.sorted().map { key in
                let metas = byKey[key, default: []].sorted { $0.field < $1.field }.map(\.meta)
                return JSONMember(key, .object([JSONMember("metas", .array(metas))]))
            })
    }

    /// A control message from another node.
    static func received(_ bytes: [UInt8], origin: String, api: APIService) {
        guard let value = try? JSON.parse(bytes), value["kind"]?.stringValue == "disconnect",
            value["node"]?.stringValue != origin, let user = value["user"]?.stringValue,
            let code = value["code"]?.integerValue.flatMap({ UInt16(exactly: $0) })
        else { return }
        api.peerDisconnect(
            user: user, code: code, reason: value["reason"]?.stringValue ?? "",
            notBefore: value["not_before"]?.integerValue)
    }

    private func onALoop(_ body: @escaping @Sendable (EventLoop) -> Void) {
        if let loop = bus.loops.first(where: \.isInLoop) { return body(loop) }
        let loop = bus.loops[0]
        loop.execute { body(loop) }
    }
}

extension ClusterBus {
    /// Makes `api` cluster-wide (``ClusterAPIPeers``): its disconnects reach every node, its presence is every
    /// node's, and this node answers the other nodes' disconnects.
    public func serve(_ api: APIService) {
        api.attach(peers: ClusterAPIPeers(bus: self))
        let origin = self.origin
        subscriber.loop.execute { [subscriber] in
            subscriber.subscribe(ClusterAPIPeers.channel) { bytes in
                ClusterAPIPeers.received(bytes, origin: origin, api: api)
            }
        }
    }
}
