import Glibc
import HoldfastConfig
import HoldfastCore
import HoldfastTLS
import HoldfastWeb
import Logging
import Synchronization

/// A listening socket registered on one loop; accepted connections stay on that loop.
///
/// Each loop has its own listening socket on the same port (`SO_REUSEPORT`), so the kernel spreads new
/// connections over the loops and no accepted fd ever crosses threads.
/// `@unchecked Sendable`: it is handed to its loop once and from then on touched only on that loop's thread.
final class Listener: EventHandler, @unchecked Sendable {
    let fd: Int32
    let isTLS: Bool
    /// Serves the admin endpoints instead of the client endpoints.
    let isAdmin: Bool
    /// Serves the server API.
    let isAPI: Bool
    unowned(unsafe) let loop: EventLoop  // outlives its listeners; a checked `unowned` retains it on every use
    let context: ServerContext
    let connections: LoopConnections
    private var paused = false
    private var closed = false
    /// Not accepting while a binary upgrade runs: arriving connections wait in the kernel's backlog, and the
    /// socket itself goes to the new process.
    private var held = false

    init(
        fd: Int32, isTLS: Bool, isAdmin: Bool = false, isAPI: Bool = false, loop: EventLoop,
        context: ServerContext, connections: LoopConnections
    ) {
        self.isAPI = isAPI
        self.fd = fd
        self.isTLS = isTLS
        self.isAdmin = isAdmin
        self.loop = loop
        self.context = context
        self.connections = connections
    }

    override func handleEvent(readable: Bool, writable: Bool) {
        // Bounded per wake-up so a connection storm cannot starve the established connections.
        for _ in 0..<64 {
            switch Socket.accept(fd) {
            case .done(let client):
                adopt(client)
            case .wouldBlock:
                return
            case .failed(let error) where error.code == EMFILE || error.code == ENFILE:
                // Out of file descriptors: stop accepting briefly instead of spinning on a readable listener.
                context.logger.warning("accept: out of file descriptors, pausing accepts for 100 ms")
                pause(milliseconds: 100)
                return
            case .failed(let error):
                context.logger.debug("accept failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    override func flush() {}

    private func adopt(_ client: Int32) {
        var handshake: TLSServerHandshake?
        if isTLS, let tls = context.tls {
            do {
                handshake = try TLSServerHandshake(context: tls)
            } catch {
                context.logger.error(
                    "cannot start a TLS handshake, dropping connection", metadata: ["error": "\(error)"])
                Socket.close(client)
                return
            }
        }
        if context.configuration.server.socketSendBufferBytes > 0 {
            Socket.setBufferSizes(client, send: Int32(context.configuration.server.socketSendBufferBytes), receive: nil)
        }
        let open = context.openConnections.wrappingAdd(1, ordering: .relaxed).newValue
        context.acceptedConnections.wrappingAdd(1, ordering: .relaxed)
        context.metrics.recordAccepted(tls: isTLS, admin: isAdmin || isAPI)
        let connection = Connection(
            fd: client, owner: connections, tlsHandshake: handshake,
            overLimit: !isAdmin && !isAPI && open > context.configuration.server.maxConnections, isAdmin: isAdmin,
            isAPI: isAPI)
        do {
            try Unmanaged.passUnretained(loop)._withUnsafeGuaranteedRef {  // `unowned(unsafe)` retains it per call
                try $0.register(fd: client, interest: .readable, handler: connection, closesAlone: true)
            }
            connections.add(connection)
        } catch {
            context.logger.error("cannot register connection", metadata: ["error": "\(error)"])
            Socket.close(client)
            context.countOpen(-1, tls: isTLS, admin: isAdmin || isAPI)
        }
    }

    private func pause(milliseconds: Int64) {
        guard !paused else { return }
        paused = true
        loop.deregister(fd: fd)
        loop.schedule(afterMilliseconds: milliseconds) { [self] in
            paused = false
            guard !closed, !held else { return }
            try? loop.register(fd: fd, interest: .readable, handler: self)
        }
    }

    /// Stops accepting, keeping the socket open (binary upgrade). Loop thread.
    func hold() {
        guard !closed, !held else { return }
        held = true
        if !paused { loop.deregister(fd: fd) }
    }

    /// Accepts again after ``hold()`` (the upgrade rolled back). Loop thread.
    func release() {
        guard held else { return }
        held = false
        guard !closed, !paused else { return }
        do {
            try loop.register(fd: fd, interest: .readable, handler: self)
        } catch {
            context.logger.error("cannot watch the listening socket again", metadata: ["error": "\(error)"])
        }
    }

    /// Stops accepting and closes the listening socket.
    func close() {
        guard !closed else { return }
        closed = true
        loop.deregister(fd: fd)
        Socket.close(fd)
    }
}
