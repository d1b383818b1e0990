import HoldfastCore
import HoldfastHTTP
import HoldfastHandoff
import HoldfastTLS
import HoldfastWebSocket
import Logging

extension Connection {
    /// Why this connection cannot be handed to a new process right now; nil when it can.
    ///
    /// A TLS handshake lives inside OpenSSL, a half-received request inside the HTTP parser's partial state and
    /// a half-received compressed message inside zlib mid-block: none of them can be carried, so a binary
    /// upgrade gives them a short grace period to finish (see ``endForHandoff()``).
    var handoffBlocker: String? {
        switch phase {
        case .tlsHandshake: "TLS handshake in progress"
        case .http: http?.hasPartialRequest == true ? "HTTP request half received" : nil
        case .webSocket, .webSocketClosing: webSocket?.isExportable == false ? "compressed message half received" : nil
        case .draining, .lingering, .closed: nil
        }
    }

    /// The grace period is over and the connection still cannot move: drop a handshake (the client retries),
    /// answer a half-received request with 503, close a WebSocket mid-message with 1012 (service restart).
    /// The last two are then draining and move as such.
    func endForHandoff() {
        guard let reason = handoffBlocker else { return }
        logger.notice("binary upgrade: connection cannot be handed over, ending it", metadata: ["fd": "\(fd)", "reason": "\(reason)"])
        switch phase {
        case .tlsHandshake:
            close()
        case .http:
            respond(.plainText(.serviceUnavailable, "server restarting, retry", extraHeaders: [("Retry-After", "1")]), keepAlive: false)
        case .webSocket:
            closeWebSocket(code: .serviceRestart, reason: "server restarting")
        case .webSocketClosing, .draining, .lingering, .closed:
            break
        }
    }

    /// The connection's state for the new process, or nil if it cannot move (see ``handoffBlocker``). Seals any
    /// pending TLS plaintext first, so the record layer state exported is final. After this the connection must
    /// never be read or written again by this process.
    func handoffSnapshot(loopIndex: Int) -> ConnectionSnapshot? {
        var snapshotPhase: ConnectionSnapshot.Phase
        var webSocketState: WebSocketConnectionState?
        var closeWhenFlushed = self.closeWhenFlushed
        switch phase {
        case .tlsHandshake, .closed:
            return nil
        case .http:
            guard http?.hasPartialRequest != true else { return nil }
            snapshotPhase = .http
        case .webSocket:
            guard let state = webSocket?.exportState() else { return nil }
            webSocketState = state
            snapshotPhase = .webSocket
        case .webSocketClosing:
            // Our close frame is queued; if the parser cannot move, nothing more is parsed: just drain and close.
            if let state = webSocket?.exportState() {
                webSocketState = state
                snapshotPhase = .webSocketClosing
            } else {
                snapshotPhase = .draining
                closeWhenFlushed = true
            }
        case .draining:
            snapshotPhase = .draining
        case .lingering:
            snapshotPhase = .lingering
        }
        sealPendingPlaintext()
        return ConnectionSnapshot(
            loopIndex: loopIndex, isAdmin: isAdmin, overLimit: overLimit, phase: snapshotPhase, deadline: deadline,
            closeWhenFlushed: closeWhenFlushed, inbound: inbound, plainInbound: plainInbound,
            outbound: Array(outbound[outboundOffset...]), tls: tls?.exportState(),
            application: application == .phoenix ? .phoenix : .echo, webSocket: webSocketState,
            phoenix: phoenix?.snapshot())
    }

    /// Drops a staged copy that a newer state replaced (or whose connection the old process closed): it leaves
    /// its loop's list and will never read, write or flush; its socket and room joins now belong to the
    /// replacement (or were closed by the caller), so nothing else is undone.
    func retireStagedCopy() {
        owner.remove(self)
        phoenix = nil
        phase = .closed
    }

    /// Rebuilds a connection handed over by the previous process on `fd`, owned by `loop`. The caller registers
    /// it with the loop and hands the returned members to the adopted rooms.
    static func adopt(
        fd: Int32, snapshot: ConnectionSnapshot, loop: EventLoop, context: ServerContext, owner: LoopConnections
    ) throws(HandoffStateError) -> (Connection, [RoomMember]) {
        let connection = Connection(
            fd: fd, loop: loop, context: context, owner: owner, tlsHandshake: nil, overLimit: snapshot.overLimit,
            isAdmin: snapshot.isAdmin)
        if let state = snapshot.tls {
            do {
                connection.tls = try TLSRecordLayer(importing: state)
            } catch {
                throw HandoffStateError(reason: "TLS record state: \(error)")
            }
        }
        connection.deadline = snapshot.deadline
        connection.closeWhenFlushed = snapshot.closeWhenFlushed
        connection.inbound = snapshot.inbound
        connection.plainInbound = snapshot.plainInbound
        connection.outbound = snapshot.outbound
        connection.application = snapshot.application == .phoenix ? .phoenix : .echo
        switch snapshot.phase {
        case .http: connection.phase = .http
        case .webSocket: connection.phase = .webSocket
        case .webSocketClosing: connection.phase = .webSocketClosing
        case .draining: connection.phase = .draining
        case .lingering: connection.phase = .lingering
        }
        if connection.phase != .http { connection.http = nil }
        if let state = snapshot.webSocket { connection.webSocket = WebSocketConnection(importing: state) }
        var members: [RoomMember] = []
        if let session = snapshot.phoenix {
            let restored = PhoenixSession(
                connection: connection, connectionID: session.connectionID, user: session.user,
                version: session.version, rooms: context.rooms, limits: context.channelLimits)
            members = restored.restore(from: session)
            connection.phoenix = restored
        }
        return (connection, members)
    }
}
