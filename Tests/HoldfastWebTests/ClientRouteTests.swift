import HoldfastHTTP
import Testing

@testable import HoldfastWeb

/// Routing by the path's bytes, the query ignored.
struct ClientRouteTests {
    private func route(_ target: String, echo: Bool = true) -> ClientRoute {
        let request = HTTPRequest(method: "GET", target: target)
        return ClientRoute(hasPath: { request.hasPath($0) }, echoEndpoint: echo)
    }

    @Test func routesByPath() {
        #expect(route("/healthz") == .health)
        #expect(route("/ws/echo?x=1") == .echo)
        #expect(route("/ws/echo", echo: false) == .other)
        #expect(route("/socket/websocket?vsn=2.0.0") == .phoenix)
        #expect(route("/metrics") == .metrics)
        #expect(route("/socket/websocket/") == .other)
        #expect(route("/") == .other)
        #expect(route("/ws/echo").upgrades && route("/socket/websocket").upgrades && !route("/healthz").upgrades)
    }
}
