import Glibc
import HoldfastChannels
import HoldfastConfig
import HoldfastCore
import HoldfastHandlerAPI
import HoldfastJSON
import HoldfastUpgrade
import HoldfastHTTP
import HoldfastWeb
import Logging
import Synchronization

extension Connection {
    /// The admin listener's endpoints. Every request needs `Authorization: Bearer <admin token>`.
    func handleAdmin(_ request: HTTPRequest) {
        let keepAlive = request.keepAlive
        if let page = context.web.adminPage(to: request) { return respond(page, keepAlive: keepAlive) }
        guard context.admin.authorizes(request.header("Authorization")) else {
            logger.notice("admin request without a valid bearer token", metadata: ["fd": "\(fd)", "path": "\(request.path)"])
            respond(
                .plainText(.unauthorized, "a valid bearer token is required", extraHeaders: [("WWW-Authenticate", "Bearer")]),
                keepAlive: keepAlive)
            return
        }
        switch request.path {
        case "/admin/status":
            guard request.hasMethod("GET") else {
                respond(.plainText(.methodNotAllowed, "method not allowed", extraHeaders: [("Allow", "GET")]), keepAlive: keepAlive)
                return
            }
            respond(json(.ok, facts().statusDocument), keepAlive: keepAlive)
        case "/admin/stats" where request.hasMethod("GET"):
            respond(context.web.stats(facts()), keepAlive: keepAlive)
        case "/admin/upgrade", "/admin/rollback":
            guard request.hasMethod("POST") else {
                respond(.plainText(.methodNotAllowed, "method not allowed", extraHeaders: [("Allow", "POST")]), keepAlive: keepAlive)
                return
            }
            // The answer comes when the rooms are resumed; the request timeout must not cut it off.
            deadline = context.clock.nowMilliseconds() + 300_000
            if request.path == "/admin/rollback" {
                context.upgrades.rollback(completion: answerLater(keepAlive: keepAlive))
                return
            }
            let body = try? request.body.withUnsafeBytes { try JSON.parse($0) }
            if let path = body?["handlers"]?.stringValue, !path.isEmpty {
                logger.notice("handler upgrade requested", metadata: ["path": "\(path)"])
                let hold = context.configuration.server.testHooks ? body?["test_hold_ms"]?.integerValue ?? 0 : 0
                context.upgrades.upgrade(path: path, holdMilliseconds: hold, completion: answerLater(keepAlive: keepAlive))
            } else if let path = body?["binary"]?.stringValue, !path.isEmpty {
                logger.notice("binary upgrade requested", metadata: ["binary": "\(path)"])
                upgradeBinary(path: path, keepAlive: keepAlive)
            } else {
                respond(json(.badRequest, .object([
                    JSONMember("error", .string(
                        "expected a JSON body {\"handlers\": \"/abs/path/plugin.so\"} or {\"binary\": \"/abs/path/holdfast\"}")),
                    JSONMember("check", .string("bad_request")),
                ])), keepAlive: keepAlive)
            }
        case "/healthz":
            respond(HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")], body: Array("ok\n".utf8)), keepAlive: keepAlive)
        default:
            respond(.plainText(.notFound, "not found"), keepAlive: keepAlive)
        }
    }

    /// Hands everything to a new process running `path`. On success this process exits right after the answer,
    /// which is written straight to the socket: the loops are frozen by then and this connection stays behind.
    private func upgradeBinary(path: String, keepAlive: Bool) {
        let fd = self.fd
        let later = answerLater(keepAlive: keepAlive)
        context.handoff.upgrade(to: path, requesterFD: fd) { result in
            guard case .success(let record) = result else { return later(result) }
            let response = HTTPResponse(
                status: .ok, headers: [("Content-Type", "application/json")], body: JSON.encode(record.json))
            Socket.writeAll(fd, response.serialized(keepAlive: false), timeoutMilliseconds: 1_000)
        }
    }

    /// A completion for an upgrade that answers this request on this connection's loop, if it is still open.
    private func answerLater(keepAlive: Bool) -> @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void {
        let target = LoopBound(self)
        let loop = self.loop
        return { result in
            loop.execute {
                guard let connection = target.value, connection.phase == .http else { return }
                switch result {
                case .success(let record):
                    connection.respond(connection.json(.ok, record.json), keepAlive: keepAlive)
                case .failure(let failure):
                    let body = JSONValue.object([
                        JSONMember("error", .string(failure.reason)), JSONMember("check", .string(failure.check)),
                    ])
                    connection.respond(connection.json(HTTPStatus(rawValue: failure.status), body), keepAlive: keepAlive)
                }
            }
        }
    }

    /// What `/admin/status` and `/admin/stats` report, read now.
    private func facts() -> ServerFacts {
        let registry = context.upgrades.registry
        return ServerFacts(
            pid: Int(getpid()), version: context.admin.binaryVersion, handlersCurrent: registry.current?.version ?? "",
            handlersPrevious: registry.previous?.version, handlersLoaded: registry.loaded.map { ($0.version, $0.path) },
            handlersState: registry.handler.map { JSONValue($0.stateSummary()) } ?? .null,
            connections: context.openConnections.load(ordering: .relaxed), rooms: context.rooms.roomCount,
            roomRestarts: context.rooms.restartCount,
            loopIdleNanoseconds: context.rooms.eventLoops.map(\.idleNanoseconds),
            historyQueuedBatches: context.rooms.historyQueuedBatches, upgrades: context.upgrades.records.map(\.json),
            cluster: context.rooms.clusterStatus)
    }


    func json(_ status: HTTPStatus, _ value: JSONValue) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: JSON.encode(value))
    }
}
