import HoldfastCore
import HoldfastHTTP
import HoldfastWebSocket
import Logging
import Synchronization

extension Connection {
    /// Routes one request: health check, WebSocket upgrade, or the right error status.
    func handle(_ request: HTTPRequest) {
        let keepAlive = request.keepAlive
        if overLimit {
            logger.notice("over the connection limit, answering 503", metadata: ["fd": "\(fd)"])
            respond(
                .plainText(.serviceUnavailable, "too many connections", extraHeaders: [("Retry-After", "1")]),
                keepAlive: false
            )
            return
        }
        if context.shuttingDown.load(ordering: .relaxed) {
            respond(.plainText(.serviceUnavailable, "shutting down"), keepAlive: false)
            return
        }
        switch Route(path: request.path, configuration: context.configuration) {
        case .health:
            guard request.method == "GET" || request.method == "HEAD" else {
                return methodNotAllowed(request, allow: "GET, HEAD")
            }
            var response = HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")], body: Array("ok\n".utf8))
            if request.method == "HEAD" { response.body = [] }
            respond(response, keepAlive: keepAlive)
        case .echo:
            guard request.method == "GET" else { return methodNotAllowed(request, allow: "GET") }
            upgrade(request, to: .echo)
        case .notFound:
            logger.debug("no route", metadata: ["fd": "\(fd)", "path": "\(request.path)"])
            respond(.plainText(.notFound, "not found"), keepAlive: keepAlive)
        }
    }

    private func methodNotAllowed(_ request: HTTPRequest, allow: String) {
        logger.info("method not allowed", metadata: ["fd": "\(fd)", "method": "\(request.method)", "path": "\(request.path)"])
        respond(.plainText(.methodNotAllowed, "method not allowed", extraHeaders: [("Allow", allow)]), keepAlive: request.keepAlive)
    }

    /// Answers the WebSocket handshake and switches the connection to the WebSocket phase.
    private func upgrade(_ request: HTTPRequest, to application: Application) {
        if !context.configuration.allowedOrigins.isEmpty, let origin = request.header("Origin"),
            !context.configuration.allowedOrigins.contains(origin)
        {
            logger.info("origin not allowed", metadata: ["fd": "\(fd)", "origin": "\(origin)"])
            respond(.plainText(.forbidden, "origin not allowed"), keepAlive: false)
            return
        }
        switch WebSocketHandshake.negotiate(request: request, deflate: context.deflate, selectSubprotocol: { _ in nil }) {
        case .failure(let error):
            logger.info("WebSocket handshake refused", metadata: ["fd": "\(fd)", "status": "\(error.status)", "error": "\(error)"])
            let headers = error.extraHeaders.map { (name: $0.0, value: $0.1) }
            respond(
                .plainText(HTTPStatus(rawValue: error.status), error.reason, extraHeaders: headers),
                keepAlive: false
            )
        case .success(let accepted):
            withApplicationOutput { $0.append(contentsOf: accepted.responseBytes) }
            webSocket = WebSocketConnection(
                limits: context.webSocketLimits,
                deflate: accepted.deflate,
                deflateConfiguration: context.deflate
            )
            http = nil
            self.application = application
            phase = .webSocket
            deadline = 0
            requestFlushIfNeeded()
        }
    }

    /// Queues an HTTP response; without keep-alive the connection closes once it is written.
    func respond(_ response: HTTPResponse, keepAlive: Bool) {
        withApplicationOutput { response.serialize(keepAlive: keepAlive, into: &$0) }
        if keepAlive {
            http?.reset()
            deadline = MonotonicClock.nowMilliseconds() + context.configuration.handshakeTimeoutMilliseconds
            requestFlushIfNeeded()
        } else {
            closeAfterFlush()  // ignores anything else the client sends; the flush then shuts the write side
        }
    }
}

/// The endpoints of the client listener.
enum Route {
    case health
    case echo
    case notFound

    init(path: Substring, configuration: Configuration) {
        switch path {
        case "/healthz": self = .health
        case "/ws/echo" where configuration.echoEndpoint: self = .echo
        default: self = .notFound
        }
    }
}
