import HoldfastChannels
import HoldfastConfig
import HoldfastCore
import HoldfastHTTP
import HoldfastWeb
import HoldfastWebSocket
import Logging
import Synchronization

extension Connection {
    /// Routes one request: health check, WebSocket upgrade, or the right error status.
    func handle(_ request: HTTPRequest) {
        if overLimit {
            logger.notice("over the connection limit, answering 503", metadata: ["fd": "\(fd)"])
            let retry = [(name: "Retry-After", value: "1")]
            respond(.plainText(.serviceUnavailable, "too many connections", extraHeaders: retry), keepAlive: false)
            return
        }
        if isAdmin { return handleAdmin(request) }  // the API's requests are read in Connection+API
        if context.shuttingDown.load(ordering: .relaxed) {
            respond(.plainText(.serviceUnavailable, "shutting down"), keepAlive: false)
            return
        }
        switch ClientRoute(hasPath: { request.hasPath($0) }, echoEndpoint: context.configuration.server.echoEndpoint) {
        case .health:
            guard request.hasMethod("GET") || request.hasMethod("HEAD") else {
                return methodNotAllowed(request, allow: "GET, HEAD")
            }
            respond(ClientRoute.healthAnswer(to: request), keepAlive: request.keepAlive)
        case .echo, .phoenix:
            guard request.hasMethod("GET") else { return methodNotAllowed(request, allow: "GET") }
            _ = request.withHeadView { upgrade($0) }
        case .metrics:
            guard request.hasMethod("GET") else { return methodNotAllowed(request, allow: "GET") }
            let body = context.metrics.render(
                openConnections: context.openConnections.load(ordering: .relaxed),
                acceptedConnections: context.acceptedConnections.load(ordering: .relaxed),
                rooms: context.rooms.roomCount, roomRestarts: context.rooms.restartCount)
            respond(
                HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain; version=0.0.4")], body: body),
                keepAlive: request.keepAlive)
        case .other:
            // The pages answer with the connection closed, so an idle browser holds no extra connections.
            if let page = context.web.clientResponse(to: request) { return respond(page, keepAlive: false) }
            logger.debug("no route", metadata: ["fd": "\(fd)", "path": "\(request.path)"])
            respond(.plainText(.notFound, "not found"), keepAlive: request.keepAlive)
        }
    }

    private func methodNotAllowed(_ request: HTTPRequest, allow: String) {
        logger.info("method not allowed", metadata: ["fd": "\(fd)", "method": "\(request.method)", "path": "\(request.path)"])
        respond(.plainText(.methodNotAllowed, "method not allowed", extraHeaders: [("Allow", allow)]), keepAlive: request.keepAlive)
    }

    /// Reads a plain upgrade's head where it lies in `input` (no copy, no request) and upgrades: how many bytes the
    /// head took, or nil when the parser has to answer the bytes (another route or method, an error, a body, a
    /// partial head: see `HTTPHeadView.parse`), which then reads them as if this had not looked.
    func upgradeInPlace(_ input: UnsafeRawBufferPointer) -> Int? {
        guard !overLimit, !isAdmin, !context.shuttingDown.load(ordering: .relaxed) else { return nil }
        return HTTPHeadView.parse(input, limits: context.httpLimits) { upgrade($0) }
    }

    /// Upgrades a GET to a WebSocket route: false (nothing done) for anything else.
    private func upgrade(_ head: HTTPHeadView) -> Bool {
        let route = ClientRoute(hasPath: { head.hasPath($0) }, echoEndpoint: context.configuration.server.echoEndpoint)
        guard route.upgrades, head.hasMethod("GET") else { return false }
        if route == .echo { upgradeEcho(head) } else { upgradePhoenix(head) }
        return true
    }

    /// Checks the connect params of a Phoenix socket (serializer version, token) before the upgrade, as Phoenix
    /// runs `connect/3` before accepting the socket: a refused connect gets 403.
    private func upgradePhoenix(_ request: HTTPHeadView) {
        let params = QueryString.parse(request.query)
        guard let version = PhoenixSerializerVersion(vsn: params["vsn"].map { $0[...] }) else {
            logger.info("unsupported Phoenix serializer version", metadata: ["fd": "\(fd)", "vsn": "\(params["vsn"] ?? "")"])
            respond(.plainText(.badRequest, "unsupported vsn"), keepAlive: false)
            return
        }
        let user: String
        switch context.authenticate(params) {
        case .success(let verified):
            user = verified
        case .failure(let reason):
            logger.info("socket connect refused", metadata: ["fd": "\(fd)", "reason": "\(reason)"])
            respond(.plainText(.forbidden, "connect refused: \(reason)"), keepAlive: false)
            return
        }
        guard let webSocket = acceptWebSocket(request) else { return }
        let session = PhoenixSession(
            connection: self, connectionID: context.nextConnectionID(), user: user, version: version,
            limits: context.channelLimits)
        enterWebSocket(webSocket, serving: .phoenix(session))
    }

    /// Upgrades to the echo WebSocket.
    private func upgradeEcho(_ request: HTTPHeadView) {
        guard let webSocket = acceptWebSocket(request) else { return }
        enterWebSocket(webSocket, serving: .echo)
    }

    /// Checks the origin and answers the WebSocket handshake: the new WebSocket layer, or nil when refused (the
    /// refusal is queued and the connection drains).
    private func acceptWebSocket(_ request: HTTPHeadView) -> WebSocketConnection? {
        if !context.configuration.server.allowedOrigins.isEmpty, let origin = request.header(.origin),
            !context.configuration.server.allowedOrigins.contains(origin)
        {
            logger.info("origin not allowed", metadata: ["fd": "\(fd)", "origin": "\(origin)"])
            respond(.plainText(.forbidden, "origin not allowed"), keepAlive: false)
            return nil
        }
        switch WebSocketHandshake.agree(to: request, deflate: context.deflate, selectSubprotocol: { _ in nil }) {
        case .failure(let error):
            logger.info("WebSocket handshake refused", metadata: ["fd": "\(fd)", "status": "\(error.status)", "error": "\(error)"])
            let headers = error.extraHeaders.map { (name: $0.0, value: $0.1) }, status = HTTPStatus(rawValue: error.status)
            respond(.plainText(status, error.reason, extraHeaders: headers), keepAlive: false)
            return nil
        case .success(let accepted):
            // The answer is made on the stack. Plaintext: written at once; queued, answers kept buffers to the idle
            // sweep that fragmented the heap.
            withUnsafeTemporaryAllocation(byteCount: accepted.responseCapacity, alignment: 1) { buffer in
                let answer = UnsafeRawBufferPointer(rebasing: buffer[..<accepted.writeResponse(into: buffer)])
                guard tls == nil && !writableRegistered && !closeWhenFlushed else {
                    return withApplicationOutput { $0.append(contentsOf: answer) }
                }
                if outboundOffset == outbound.count { writeNow(answer) } else { send(head: answer, sharedBody: []) }
            }
            guard phase != .closed else { return nil }  // a failed write closed the socket
            return WebSocketConnection(
                limits: context.webSocketLimits, deflate: accepted.deflate, deflateConfiguration: context.deflate)
        }
    }

    /// Switches the connection to the WebSocket phase (the handshake answer is written or queued).
    private func enterWebSocket(_ webSocket: consuming WebSocketConnection, serving application: Application) {
        state = .webSocket(WebSocketLayer(webSocket, serving: application))
        deadline = 0
        requestFlushIfNeeded()
    }

    /// Queues an HTTP response; without keep-alive the connection closes once it is written.
    func respond(_ response: HTTPResponse, keepAlive: Bool) {
        handoffGeneration &+= 1
        withApplicationOutput { response.serialize(keepAlive: keepAlive, into: &$0) }
        if keepAlive {
            if case .http(let layer?) = state { layer.parser.reset() }
            deadline = context.clock.nowMilliseconds() + context.configuration.server.handshakeTimeoutMilliseconds
            requestFlushIfNeeded()
        } else {
            closeAfterFlush()  // ignores anything else the client sends; the flush then shuts the write side
        }
    }
}
