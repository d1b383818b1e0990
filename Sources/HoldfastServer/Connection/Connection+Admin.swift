import Glibc
import HoldfastChannels
import HoldfastHTTP
import Logging
import Synchronization

extension Connection {
    /// The admin listener's endpoints. Every request needs `Authorization: Bearer <admin token>`.
    func handleAdmin(_ request: HTTPRequest) {
        let keepAlive = request.keepAlive
        guard context.admin.authorizes(request.header("Authorization")) else {
            logger.notice("admin request without a valid bearer token", metadata: ["fd": "\(fd)", "path": "\(request.path)"])
            respond(
                .plainText(.unauthorized, "a valid bearer token is required", extraHeaders: [("WWW-Authenticate", "Bearer")]),
                keepAlive: keepAlive)
            return
        }
        switch request.path {
        case "/admin/status":
            guard request.method == "GET" else {
                respond(.plainText(.methodNotAllowed, "method not allowed", extraHeaders: [("Allow", "GET")]), keepAlive: keepAlive)
                return
            }
            respond(json(.ok, statusDocument()), keepAlive: keepAlive)
        case "/healthz":
            respond(HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")], body: Array("ok\n".utf8)), keepAlive: keepAlive)
        default:
            respond(.plainText(.notFound, "not found"), keepAlive: keepAlive)
        }
    }

    /// `GET /admin/status`: who is serving and what it holds.
    private func statusDocument() -> JSONValue {
        .object([
            JSONMember("pid", .integer(Int64(getpid()))),
            JSONMember("version", .string(context.admin.binaryVersion)),
            JSONMember(
                "handlers",
                .object([
                    JSONMember("current", .string(context.rooms.handlerVersion)),
                    JSONMember("loaded", .array([.string(context.rooms.handlerVersion)])),
                ])),
            JSONMember("connections", .integer(Int64(context.openConnections.load(ordering: .relaxed)))),
            JSONMember("rooms", .integer(Int64(context.rooms.roomCount))),
            JSONMember(
                "actors",
                .object([
                    JSONMember("rooms", .integer(Int64(context.rooms.roomCount))),
                    JSONMember("restarts", .integer(Int64(context.rooms.restartCount))),
                ])),
            JSONMember("event_loops", .integer(Int64(loopCount))),
            JSONMember("last_upgrade", .null),
        ])
    }

    private var loopCount: Int { context.configuration.resolvedEventLoops }

    private func json(_ status: HTTPStatus, _ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: JSON.encode(value))
    }
}
