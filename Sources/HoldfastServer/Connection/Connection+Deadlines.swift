import HoldfastChannels
import HoldfastConfig
import HoldfastCore
import HoldfastHTTP
import HoldfastTLS
import HoldfastWebSocket
import Logging

extension Connection {
    /// Called by the loop's periodic sweep: enforces the handshake, idle and closing deadlines (an open WebSocket's
    /// only when `openWebSockets`).
    func sweep(now: Int64, openWebSockets: Bool) {
        if !openWebSockets, case .webSocket = state { return }
        let before = (phase, deadline)
        defer { if (phase, deadline) != before { handoffGeneration &+= 1 } }
        switch phase {
        case .webSocket:
            if let phoenix, let action = phoenix.state.checkHeartbeat(now: now), case .closeSocket(reason: let reason) = action {
                logger.info("Phoenix heartbeat missed, closing", metadata: ["fd": "\(fd)", "reason": "\(reason)"])
                closeWebSocket(code: .normalClosure, reason: reason)
                return
            }
            if !sawTraffic { releaseIdleMemory() }
            let idleTimeout = context.configuration.server.idleTimeoutMilliseconds
            guard idleTimeout > 0 else {
                sawTraffic = false
                return
            }
            if sawTraffic {
                sawTraffic = false
                deadline = now + idleTimeout
            } else if deadline == 0 {
                deadline = now + idleTimeout
            } else if now >= deadline {
                logger.info("idle timeout, closing WebSocket", metadata: ["fd": "\(fd)"])
                closeWebSocket(code: .normalClosure, reason: "idle timeout")
            }
        case .tlsHandshake:
            if now >= deadline {
                logger.info("TLS handshake timeout, dropping connection", metadata: ["fd": "\(fd)"])
                close()
            }
        case .http:
            if now >= deadline {
                logger.info("request timeout, dropping connection", metadata: ["fd": "\(fd)"])
                respond(.plainText(.requestTimeout, "request timeout"), keepAlive: false)
            }
        case .webSocketClosing, .draining, .lingering:
            if deadline == 0 {
                deadline = now + Self.closingGraceMilliseconds
            } else if now >= deadline {
                close()
            }
        case .closed:
            break
        }
    }

    /// A connection quiet for a whole sweep interval gives back its buffers and its TLS cipher contexts; both
    /// are re-created on the next traffic.
    private func releaseIdleMemory() {
        if plainInbound.isEmpty && plainInbound.capacity > 0 { plainInbound = [] }
        // A connection that keeps receiving (a room member) keeps its output buffers rather than regrowing them.
        guard outboundMarks.releaseMemoryIfIdle() else { return }
        tls?.releaseIdleMemory()
        if outboundOffset == outbound.count && outbound.capacity > 0 { (outbound, outboundOffset) = ([], 0) }
    }

    /// Graceful shutdown: WebSockets get a 1001 close frame, everything else is closed once its output is out.
    func beginShutdown() {
        switch phase {
        case .webSocket:
            closeWebSocket(code: .goingAway, reason: "server shutting down")
        case .http, .tlsHandshake:
            if pendingOutputBytes > 0 { closeAfterFlush() } else { close() }
        case .webSocketClosing, .draining, .lingering, .closed:
            break
        }
    }
}
