public import HoldfastCore
import CHoldfast
import Glibc
import HoldfastAuth
import HoldfastHistory
import HoldfastTLS
import HoldfastUpgrade
public import Logging
import Synchronization

/// The Holdfast server: event loops, listeners and connections, from start to graceful shutdown.
///
/// Lifecycle: ``init(configuration:logger:)`` validates the configuration and loads the TLS certificate (a bad
/// certificate fails here, before any socket is bound); ``start()`` binds the listeners and starts one thread per
/// event loop; ``runUntilSignalled()`` blocks the calling thread until SIGTERM or SIGINT and then shuts down
/// gracefully: stop accepting, send close 1001 to every WebSocket, flush, and return within the shutdown timeout.
public final class Server: Sendable {
    /// The resolved configuration.
    public let configuration: Configuration
    let context: ServerContext
    let group: EventLoopGroup
    private let state = Mutex<State>(State())

    private struct State {
        var listeners: [(loop: EventLoop, listener: Listener)] = []
        var loopConnections: [LoopConnections] = []
        var boundAddress: SocketAddress?
        var boundTLSAddress: SocketAddress?
        var boundAdminAddress: SocketAddress?
    }

    /// Prepares a server: checks the TLS files and creates the event loops (nothing is bound yet).
    /// `binaryVersion` is what `GET /admin/status` reports.
    public init(configuration: Configuration, logger: Logger, binaryVersion: String = "dev") throws {
        self.configuration = configuration
        var tls: TLSServerContext?
        if configuration.tlsEnabled {
            tls = try TLSServerContext(
                certificateChainPath: configuration.tlsCertificatePath,
                privateKeyPath: configuration.tlsKeyPath,
                minimumVersion: configuration.tlsMinimumVersion == "1.3" ? .v1_3 : .v1_2
            )
        }
        let group = try EventLoopGroup(count: configuration.resolvedEventLoops)
        try StateDirectory.prepare(configuration.stateDirectory)
        let secret = try SecretStore.loadOrCreate(
            configured: configuration.secretKey, stateDirectory: configuration.stateDirectory)
        if configuration.allowUserIDParam {
            logger.warning("server.allow_user_id_param is on: sockets may connect as any user without a token")
        }
        let historyPath = configuration.stateDirectory + "/history.sqlite3"
        var stores: [HistoryStore] = []
        for _ in group.loops {
            stores.append(try HistoryStore(path: historyPath, keepPerRoom: configuration.historyPerRoom))
        }
        let metrics = ServerMetrics()
        let plugins = PluginRegistry()
        let handlersPath = configuration.handlersPath.isEmpty ? Self.defaultHandlersPath() : configuration.handlersPath
        do {
            try plugins.start(with: try plugins.load(path: handlersPath))
        } catch {
            throw HandlerStartError(path: handlersPath, reason: error.description)
        }
        logger.info("handlers loaded", metadata: ["path": "\(handlersPath)", "version": "\(plugins.current?.version ?? "")"])
        let services = RoomServices(
            handler: PluginChatHandler(registry: plugins), logger: logger, metrics: metrics, stores: stores,
            historyWriter: try HistoryWriter(path: historyPath, keepPerRoom: configuration.historyPerRoom, logger: logger),
            presenceRefPrefix: PresenceRefPrefix.make(),
            presenceWindowMilliseconds: configuration.presenceWindowMilliseconds,
            historyLimit: configuration.historyPerRoom)
        let rooms = try RoomRegistry(loops: group.loops, services: services)
        let upgrades = HandlerUpgrades(registry: plugins, rooms: rooms, logger: logger)
        self.group = group
        let admin = try AdminAccess(
            configuredToken: configuration.adminToken, stateDirectory: configuration.stateDirectory,
            binaryVersion: binaryVersion)
        self.context = ServerContext(
            configuration: configuration, logger: logger, tls: tls, metrics: metrics, rooms: rooms, secret: secret,
            admin: admin, upgrades: upgrades)
    }

    /// `libChatHandlers.so` in the directory of the running executable.
    static func defaultHandlersPath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "libChatHandlers.so" }
        let executable = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/libChatHandlers.so"
    }

    /// The address of the plaintext listener once started (with the real port when 0 was configured).
    public var boundAddress: SocketAddress? { state.withLock { $0.boundAddress } }
    /// The address of the TLS listener once started, if TLS is configured.
    public var boundTLSAddress: SocketAddress? { state.withLock { $0.boundTLSAddress } }
    /// The address of the admin listener once started.
    public var boundAdminAddress: SocketAddress? { state.withLock { $0.boundAdminAddress } }
    /// Client connections open right now.
    public var openConnections: Int { context.openConnections.load(ordering: .relaxed) }

    /// Binds the listeners (one per loop with `SO_REUSEPORT`) and starts the loops.
    public func start() throws {
        let plain = try bindListeners(on: configuration.listen)
        var secure: [Int32] = []
        if configuration.tlsEnabled { secure = try bindListeners(on: configuration.tlsListen) }
        let plainAddress = try SocketAddress.local(of: plain[0])
        let secureAddress = try secure.first.map { fd throws(SystemError) in try SocketAddress.local(of: fd) }
        let adminFD = try Socket.listen(on: configuration.adminListen, backlog: 64, reusePort: false)
        let adminAddress = try SocketAddress.local(of: adminFD)

        var listeners: [(EventLoop, Listener)] = []
        var perLoop: [LoopConnections] = []
        for (index, loop) in group.loops.enumerated() {
            let connections = LoopConnections()
            perLoop.append(connections)
            listeners.append(
                (loop, Listener(fd: plain[index], isTLS: false, loop: loop, context: context, connections: connections))
            )
            if !secure.isEmpty {
                listeners.append(
                    (loop, Listener(fd: secure[index], isTLS: true, loop: loop, context: context, connections: connections))
                )
            }
            if index == 0 {
                listeners.append(
                    (loop, Listener(fd: adminFD, isTLS: false, isAdmin: true, loop: loop, context: context, connections: connections))
                )
            }
            scheduleSweep(on: loop, connections: connections)
        }
        for (loop, listener) in listeners {
            try loop.register(fd: listener.fd, interest: .readable, handler: listener)
        }
        state.withLock {
            $0.listeners = listeners.map { (loop: $0.0, listener: $0.1) }
            $0.loopConnections = perLoop
            $0.boundAddress = plainAddress
            $0.boundTLSAddress = secureAddress
            $0.boundAdminAddress = adminAddress
        }
        group.start()
        context.logger.info(
            "listening",
            metadata: [
                "address": "\(plainAddress)",
                "tls-address": "\(secureAddress.map { "\($0)" } ?? "off")",
                "admin-address": "\(adminAddress)",
                "admin-token": "\(context.admin.tokenPath ?? "configured")",
                "event-loops": "\(group.loops.count)",
                "max-connections": "\(configuration.maxConnections)",
            ]
        )
    }

    /// One listening socket per loop on `address`; port 0 is resolved by the first bind and reused for the rest.
    private func bindListeners(on address: SocketAddress) throws -> [Int32] {
        var fds: [Int32] = []
        var address = address
        do {
            for _ in group.loops {
                let fd = try Socket.listen(on: address, reusePort: true)
                fds.append(fd)
                if address.port == 0 { address.port = try SocketAddress.local(of: fd).port }
            }
        } catch {
            fds.forEach(Socket.close)
            throw error
        }
        return fds
    }

    /// Every 250 ms each loop checks its connections' deadlines (handshake, idle, closing).
    private func scheduleSweep(on loop: EventLoop, connections: LoopConnections) {
        loop.schedule(afterMilliseconds: 250) { [self] in
            let now = MonotonicClock.nowMilliseconds()
            connections.forEach { $0.sweep(now: now) }
            connections.trimHeapIfNeeded()
            scheduleSweep(on: loop, connections: connections)
        }
    }

    /// Blocks until SIGTERM or SIGINT, then shuts down gracefully. Call ``blockShutdownSignals()`` before
    /// ``start()`` so the loop threads inherit the blocked mask and the signal reaches this thread only.
    public func runUntilSignalled(signals: SignalWaiter) {
        while true {
            let signal = signals.wait()
            if signal == SIGTERM || signal == SIGINT {
                context.logger.notice("signal received, shutting down", metadata: ["signal": "\(signal)"])
                break
            }
            context.logger.info("signal ignored", metadata: ["signal": "\(signal)"])
        }
        shutdown()
    }

    /// Graceful shutdown: stop accepting, close 1001 to every WebSocket, flush, wait (bounded) for the
    /// connections to end, then stop the loops.
    public func shutdown() {
        guard !context.shuttingDown.exchange(true, ordering: .relaxed) else { return }
        let (listeners, perLoop) = state.withLock { ($0.listeners, $0.loopConnections) }
        for (index, loop) in group.loops.enumerated() {
            // Both are confined to `loop`; the closure runs there.
            let mine = listeners.filter { $0.loop === loop }.map(\.listener)
            let connections = perLoop[index]
            loop.execute {
                for listener in mine { listener.close() }
                connections.forEach { $0.beginShutdown() }
            }
        }
        let deadline = MonotonicClock.nowMilliseconds() + configuration.shutdownTimeoutMilliseconds
        while openConnections > 0 && MonotonicClock.nowMilliseconds() < deadline {
            usleep(10_000)
        }
        let remaining = openConnections
        if remaining > 0 {
            context.logger.warning("shutdown timeout reached, closing remaining connections", metadata: ["open": "\(remaining)"])
        }
        group.stopAndJoin()
        context.logger.notice("stopped", metadata: ["accepted-total": "\(context.acceptedConnections.load(ordering: .relaxed))"])
    }
}

/// Waits for process signals on a signalfd, so signal handling is ordinary code on one thread.
public final class SignalWaiter: Sendable {
    private let fd: Int32

    /// Blocks SIGTERM, SIGINT, SIGUSR2 and SIGHUP in the calling thread (inherited by threads started later) and
    /// opens a signalfd for them. Call before starting any thread. Also ignores SIGPIPE.
    public init() throws(SystemError) {
        signal(SIGPIPE, SIG_IGN)
        let fd = holdfast_signalfd()
        guard fd >= 0 else { throw SystemError("signalfd") }
        self.fd = fd
    }

    /// Blocks until a signal arrives and returns its number.
    public func wait() -> Int32 {
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, -1)
            let signal = holdfast_signalfd_read(fd)
            if signal != 0 { return signal }
        }
    }
}

/// The handler plugin cannot be loaded at start.
struct HandlerStartError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String {
        "cannot load the chat handlers from \(path): \(reason). Build them with `swift build` (the ChatHandlers "
            + "product), or point server.handlers / --handlers at a handler plugin"
    }
}
