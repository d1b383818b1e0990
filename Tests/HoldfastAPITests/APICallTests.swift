import HoldfastAPI
import HoldfastConfig
import HoldfastHTTP
import HoldfastJSON
import Testing

struct APICallTests {
    func request(_ method: String, _ target: String, _ body: String = "") -> HTTPRequest {
        HTTPRequest(method: method, target: target, minorVersion: 1, headers: [], body: Array(body.utf8))
    }

    @Test func parsesAPublishOfAChatMessage() throws {
        let call = try APICall.parse(
            request(
                "POST", "/api/publish", #"{"topic":"room:a","event":"new_msg","payload":{"body":"hi"},"as_user":"ops"}"#
            ))
        #expect(
            call
                == .publish(
                    topics: ["room:a"], event: "new_msg", payload: .object([JSONMember("body", .string("hi"))]),
                    asUser: "ops"))
        #expect(call.scope == .publish)
    }

    @Test func refusesMalformedAndUnknownInput() {
        let cases: [(HTTPRequest, Int, String)] = [
            (request("POST", "/api/publish", "{nope"), 400, "bad_request"),
            (request("POST", "/api/publish", #"{"topic":"lobby","event":"x"}"#), 404, "unknown_topic"),
            (
                request("POST", "/api/publish", #"{"topic":"room:a","event":"new_msg","payload":{}}"#), 400,
                "bad_request"
            ),
            (request("POST", "/api/publish", #"{"topic":"room:a","event":"phx_join"}"#), 400, "bad_request"),
            (request("POST", "/api/broadcast", #"{"topics":[],"event":"x"}"#), 400, "bad_request"),
            (request("POST", "/api/disconnect", #"{"user":"u","code":1000}"#), 400, "bad_request"),
            (request("GET", "/api/history?topic=room:a&since_id=-1"), 400, "bad_request"),
            (request("GET", "/api/presence"), 400, "bad_request"),
            (request("GET", "/api/publish"), 405, "method_not_allowed"),
            (request("GET", "/api/else"), 404, "not_found"),
        ]
        for (input, status, code) in cases {
            #expect(throws: APIError.self) { try APICall.parse(input) }
            do {
                _ = try APICall.parse(input)
            } catch {
                #expect(error.status.rawValue == status && error.code == code, "\(input.target)")
            }
        }
    }

    @Test func parsesQueriesWithDefaults() throws {
        #expect(
            try APICall.parse(request("GET", "/api/history?topic=room%3Aa"))
                == .history(topic: "room:a", sinceID: 0, limit: 100))
        #expect(
            try APICall.parse(request("GET", "/api/rooms?after=room:b&limit=5")) == .rooms(after: "room:b", limit: 5))
        #expect(
            try APICall.parse(request("POST", "/api/disconnect", #"{"user":"u","refuse_older_tokens":true}"#))
                == .disconnect(user: "u", code: 4000, reason: "disconnected", refuseOlderTokens: true))
    }

    @Test func errorsAreJSONWithRetryAfterWhenLimited() throws {
        let response = APIError(.tooManyRequests, "rate_limited", "slow down", retryAfterSeconds: 2).response
        #expect(response.status.rawValue == 429)
        #expect(response.headers.contains { $0.name == "Retry-After" && $0.value == "2" })
        let body = try JSON.parse(response.body)
        #expect(body["error"]?["code"]?.stringValue == "rate_limited")
    }
}

struct KeysAndLimitsTests {
    @Test func keysParseWithScopesAndAreFoundByTheirSecret() throws {
        let reader = try #require(APIKeySpec(parsing: "reader:presence+history:0123456789abcdefXYZ"))
        #expect(reader.scopes == [.presence, .history])
        #expect(APIKeySpec(parsing: "all:all:0123456789abcdef0")?.scopes.count == 4)
        #expect(APIKeySpec(parsing: "short:all:tooshort") == nil)
        #expect(APIKeySpec(parsing: "x:fly:0123456789abcdef0") == nil)
        let ring = APIKeyRing(keys: [reader])
        #expect(ring.key(authorization: "Bearer 0123456789abcdefXYZ")?.name == "reader")
        #expect(ring.key(authorization: "Bearer 0123456789abcdefXY") == nil)
        #expect(ring.key(authorization: "0123456789abcdefXYZ") == nil)
    }

    @Test func theRateLimiterAllowsABurstThenRefillsPerKey() {
        var limiter = RateLimiter(perSecond: 2, burst: 3)
        #expect((0..<3).allSatisfy { _ in limiter.admit("a", now: 0) == nil })
        #expect(limiter.admit("a", now: 0) == 1)
        #expect(limiter.admit("b", now: 0) == nil)
        #expect(limiter.admit("a", now: 499) == 1)
        #expect(limiter.admit("a", now: 500) == nil)
    }
}
