import HoldfastAuth
import HoldfastCore
import HoldfastHTTP
import HoldfastJSON
import Testing

@testable import HoldfastWeb

struct WebPagesTests {
    let secret = Array("s".utf8) + [UInt8](repeating: 7, count: 31)

    func request(_ method: String, _ target: String, body: String = "") -> HTTPRequest {
        HTTPRequest(method: method, target: target, minorVersion: 1, headers: [], body: Array(body.utf8))
    }

    func pages(demo: Bool = true, clock: ManualClock = ManualClock()) -> WebPages {
        WebPages(demoPage: demo, secret: secret, metrics: ServerMetrics(), clock: .manual(clock))
    }

    @Test func everyPageAndFileCarriesTheContentSecurityPolicy() throws {
        let web = pages()
        for path in ["/", "/demo/demo.js", "/demo/phoenix-client.js", "/demo/presence.js", "/demo/demo.css"] {
            let response = try #require(web.clientResponse(to: request("GET", path)))
            #expect(response.status == .ok)
            #expect(
                response.headers.contains { $0.name == "Content-Security-Policy" && $0.value == "default-src 'self'" })
            #expect(!response.body.isEmpty)
        }
        let page = try #require(web.adminPage(to: request("GET", "/admin/")))
        #expect(String(decoding: page.body, as: UTF8.self).contains("src=\"/admin/dashboard.js\""))
        #expect(web.clientResponse(to: request("GET", "/nowhere")) == nil)
        #expect(web.adminPage(to: request("GET", "/admin/stats")) == nil)
        #expect(web.clientResponse(to: request("POST", "/"))?.status == .methodNotAllowed)
    }

    @Test func theDemoPageAndItsTokensAreGoneWhenSwitchedOff() {
        let web = pages(demo: false)
        #expect(web.clientResponse(to: request("GET", "/")) == nil)
        #expect(web.clientResponse(to: request("POST", "/demo/token", body: #"{"user": "ada"}"#)) == nil)
    }

    @Test func aDemoTokenNamesTheTrimmedUserAndVerifies() throws {
        let clock = ManualClock()
        let response = try #require(
            pages(clock: clock).clientResponse(
                to: request("POST", "/demo/token", body: #"{"user": "  ada lovelace "}"#)))
        #expect(response.status == .ok)
        let answer = try response.body.withUnsafeBytes { try JSON.parse($0) }
        let token = try #require(answer["token"]?.stringValue)
        #expect(answer["user"]?.stringValue == "ada lovelace")
        let now = clock.wallMilliseconds / 1000
        #expect(try ConnectToken.verify(token[...], secret: secret, now: now).get() == "ada lovelace")
        #expect(throws: TokenError.expired) {
            try ConnectToken.verify(token[...], secret: secret, now: now + DemoTokens.ttlSeconds).get()
        }
    }

    @Test func badNamesAreRefused() {
        let web = pages()
        let long = String(repeating: "x", count: 65)
        for body in [
            #"{"user": ""}"#, #"{"user": "   "}"#, #"{"user": "a\u0007b"}"#, "{\"user\": \"\(long)\"}",
            #"{"name": "ada"}"#, "not json",
        ] {
            #expect(
                web.clientResponse(to: request("POST", "/demo/token", body: body))?.status == .badRequest, "\(body)")
        }
    }

    @Test func theTokenBucketRefusesPastItsBurstAndRefillsOnePerSecond() {
        let tokens = DemoTokens(secret: secret)
        for _ in 0..<DemoTokens.burst { #expect(tokens.take(now: 5_000)) }
        #expect(!tokens.take(now: 5_000))
        #expect(!tokens.take(now: 5_999))
        #expect(tokens.take(now: 6_000))
        #expect(!tokens.take(now: 6_500))
        for _ in 0..<3 { #expect(tokens.take(now: 9_000)) }
        #expect(!tokens.take(now: 9_000))
    }

    @Test func roomSizesListTheLargestFirstAndForgetEmptyRooms() {
        let sizes = RoomSizes()
        sizes.report(topic: "room:b", members: 3)
        sizes.report(topic: "room:a", members: 3)
        sizes.report(topic: "room:c", members: 9)
        sizes.report(topic: "room:d", members: 1)
        sizes.report(topic: "room:d", members: 0)
        #expect(sizes.top(2).map(\.topic) == ["room:c", "room:a"])
        #expect(sizes.top(20).count == 3)
    }

    @Test func statsCountClientConnectionsApartFromAdminOnes() throws {
        let clock = ManualClock()
        let metrics = ServerMetrics()
        let web = WebPages(demoPage: true, secret: secret, metrics: metrics, clock: .manual(clock))
        metrics.recordAccepted(tls: true)
        metrics.recordAccepted(tls: false, admin: true)
        metrics.messagesIn.add(5)
        clock.advance(byMilliseconds: 1_500)
        let facts = ServerFacts(
            pid: 42, version: "v", handlersCurrent: "1.0.0", handlersPrevious: nil, handlersLoaded: [("1.0.0", "/p")],
            handlersState: .null, connections: 4, rooms: 1, roomRestarts: 0, loopIdleNanoseconds: [2_000_000, 0],
            historyQueuedBatches: 3, upgrades: [])
        let stats = try web.stats(facts).body.withUnsafeBytes { try JSON.parse($0) }
        #expect(stats["connections"]?["clients"]?.integerValue == 3)
        #expect(stats["connections"]?["tls"]?.integerValue == 1)
        #expect(stats["connections"]?["plain"]?.integerValue == 2)
        #expect(stats["connections"]?["admin"]?.integerValue == 1)
        #expect(stats["counters"]?["messages_in"]?.integerValue == 5)
        #expect(stats["uptime_ms"]?.integerValue == 1_500)
        let loops = stats["event_loops"]
        #expect(loops?.objectMembers == nil && loops != nil)
        if case .array(let entries) = loops {
            #expect(entries.map { $0["idle_ms"] } == [.double(2), .double(0)])
        } else {
            Issue.record("event_loops is not an array")
        }
        #expect(stats["history"]?["queued_batches"]?.integerValue == 3)
        #expect((stats["rss_bytes"]?.integerValue ?? 0) > 0)
        let status = facts.statusDocument
        #expect(status["event_loops"]?.integerValue == 2)
        #expect(status["last_upgrade"] == .null)
    }
}
