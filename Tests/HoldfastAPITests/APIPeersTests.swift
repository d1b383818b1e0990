import Glibc
import HoldfastAPI
import HoldfastConfig
import HoldfastHTTP
import HoldfastJSON
import Synchronization
import Testing

/// A clustered node's API: a disconnect reaches the peers with its "not before", a peer's disconnect is recorded and
/// performed here, and presence is the peers' (every node's), with stats counted from it.
@Suite struct APIPeersTests {
    final class Backend: APIBackend {
        let disconnected = Mutex<[String]>([])

        func publishMessage(
            topic: String, user: String, body: String, clientID: String?, ticket: UInt64,
            completion: @escaping @Sendable (Result<Int64, APIError>) -> Void
        ) { completion(.success(1)) }
        func broadcastEvent(topic: String, event: String, payload: JSONValue) {}
        func presence(topic: String, completion: @escaping @Sendable (JSONValue) -> Void) {
            completion(.object([JSONMember("local", .object([JSONMember("metas", .array([.emptyObject]))]))]))
        }
        func presenceStats(topic: String, completion: @escaping @Sendable (JSONValue) -> Void) {
            completion(.emptyObject)
        }
        func history(
            topic: String, sinceID: Int64, limit: Int,
            completion: @escaping @Sendable (Result<JSONValue, APIError>) -> Void
        ) { completion(.success(.emptyObject)) }
        func disconnect(user: String, code: UInt16, reason: String, completion: @escaping @Sendable (Int) -> Void) {
            disconnected.withLock { $0.append("\(user) \(code) \(reason)") }
            completion(1)
        }
        func rooms() -> [(topic: String, members: Int)] { [] }
    }

    final class Peers: APIPeers {
        let published = Mutex<[String]>([])
        let view: JSONValue?

        init(view: JSONValue?) { self.view = view }

        func disconnect(user: String, code: UInt16, reason: String, notBefore: Int64?) {
            published.withLock { $0.append("\(user) \(code) \(reason) \(notBefore.map { "\($0)" } ?? "-")") }
        }
        func presence(topic: String, completion: @escaping @Sendable (JSONValue?) -> Void) { completion(view) }
    }

    func service(_ backend: Backend, directory: String) -> APIService {
        var configuration = Configuration()
        configuration.api.keys = [APIKeySpec(name: "ops", secret: "s", scopes: [.presence, .disconnect])]
        return APIService(
            configuration: configuration.api, backend: backend,
            notBefore: NotBeforeStore(path: directory + "/not-before.json"),
            monotonicMilliseconds: { 0 }, wallMilliseconds: { 1_700_000_000_000 })
    }

    func call(_ service: APIService, _ method: String, _ target: String, _ body: String = "") -> (Int, JSONValue?) {
        let request = HTTPRequest(
            method: method, target: target, minorVersion: 1, headers: [("Authorization", "Bearer s")],
            body: Array(body.utf8))
        let answer = Mutex<HTTPResponse?>(nil)
        service.handle(request) { response in answer.withLock { $0 = response } }
        let response = answer.withLock { $0 }
        return (Int(response?.status.rawValue ?? 0), response.flatMap { try? JSON.parse($0.body) })
    }

    func directory() -> String {
        var template = Array("/tmp/holdfast-api-peers-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        return made ?? "/tmp"
    }

    @Test func aDisconnectReachesThePeersAndAPeersDisconnectIsRecordedHere() {
        let backend = Backend()
        let api = service(backend, directory: directory())
        let peers = Peers(view: nil)
        api.attach(peers: peers)
        let body = #"{"user":"mallory","code":4003,"reason":"banned","refuse_older_tokens":true}"#
        #expect(call(api, "POST", "/api/disconnect", body).0 == 200)
        #expect(peers.published.withLock { $0 } == ["mallory 4003 banned 1700000000"])
        #expect(backend.disconnected.withLock { $0 } == ["mallory 4003 banned"])

        api.peerDisconnect(user: "eve", code: 4001, reason: "gone", notBefore: 1_700_000_005)
        #expect(api.notBefore.refuses(user: "eve", issuedAt: 1_700_000_005))
        #expect(!api.notBefore.refuses(user: "eve", issuedAt: 1_700_000_006))
        #expect(backend.disconnected.withLock { $0 }.last == "eve 4001 gone")
        api.peerDisconnect(user: "zed", code: 4001, reason: "", notBefore: nil)
        #expect(!api.notBefore.refuses(user: "zed", issuedAt: 0))
    }

    @Test func presenceIsThePeersViewAndItsStatsCountMetasAndKeys() {
        let metas = { (count: Int) in
            JSONValue.object([JSONMember("metas", .array(Array(repeating: .emptyObject, count: count)))])
        }
        let view = JSONValue.object([JSONMember("dana", metas(2)), JSONMember("eve", metas(1))])
        let api = service(Backend(), directory: directory())
        #expect(call(api, "GET", "/api/presence?topic=room:a").1?["local"] != nil, "a single node answers alone")
        api.attach(peers: Peers(view: view))
        #expect(call(api, "GET", "/api/presence?topic=room:a").1 == view)
        let stats = call(api, "GET", "/api/presence_stats?topic=room:a").1
        #expect(stats == .object([JSONMember("clients", .integer(3)), JSONMember("users", .integer(2))]))
        let unreadable = service(Backend(), directory: directory())
        unreadable.attach(peers: Peers(view: nil))
        #expect(call(unreadable, "GET", "/api/presence?topic=room:a").0 == 503)
    }
}
