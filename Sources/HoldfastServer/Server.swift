import CHoldfast
import Glibc
import HoldfastAPI
import HoldfastAuth
import HoldfastCluster
public import HoldfastConfig
public import HoldfastCore
import HoldfastHandoff
import HoldfastRooms
import HoldfastTLS
import HoldfastUpgrade
import HoldfastWeb
import HoldfastWebhooks
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
    /// This process's binary upgrade (old side); the context offers it to the admin endpoint.
    let binaryUpgrade = BinaryUpgrade()
    let apiBackend: ServerAPIBackend
    let group: EventLoopGroup
    let state = Mutex<State>(State())
    let systemd = SystemdNotifier(environment: ProcessEnvironment.current())

    struct State {
        var listeners: [(loop: EventLoop, listener: Listener)] = []
        var loopConnections: [LoopConnections] = []
        var boundAddress: SocketAddress?
        var boundTLSAddress: SocketAddress?
        var boundAdminAddress: SocketAddress?
        var boundAPIAddress: SocketAddress?
        var liveness: LivenessPings?
    }

    /// Prepares a server: checks the TLS files and creates the event loops (nothing is bound yet).
    /// `binaryVersion` is what `GET /admin/status` reports; `clock` decides the connections' deadlines and
    /// timeouts (tests pass a ``ServerClock/manual(_:)`` one).
    public init(
        configuration: Configuration, logger: Logger, binaryVersion: String = "dev", clock: ServerClock = .system
    ) throws {
        self.configuration = configuration
        // Read first: a test-only fault hook set by mistake must stop the start before anything is opened.
        let handoffFault = try HandoffFault.from(environment: ProcessEnvironment.current())
        if let handoffFault { logger.warning("test fault hook armed", metadata: ["fault": "\(handoffFault)"]) }
        var tls: TLSServerContext?
        if configuration.tls.isEnabled {
            tls = try TLSServerContext(
                certificateChainPath: configuration.tls.certificatePath,
                privateKeyPath: configuration.tls.keyPath,
                minimumVersion: configuration.tls.minimumVersion == "1.3" ? .v1_3 : .v1_2)
        }
        let group = try EventLoopGroup(count: configuration.server.resolvedEventLoops)
        try StateDirectory.prepare(configuration.server.stateDirectory)
        let secret = try SecretStore.loadOrCreate(
            configured: configuration.server.secretKey, stateDirectory: configuration.server.stateDirectory)
        if configuration.server.allowUserIDParam {
            logger.warning("server.allow_user_id_param is on: sockets may connect as any user without a token")
        }
        let metrics = ServerMetrics()
        let plugins = PluginRegistry(configPath: configuration.server.handlerConfigPath)
        let configuredHandlers = configuration.server.handlersPath
        let handlersPath =
            configuredHandlers.isEmpty ? ProcessEnvironment.besideExecutable("libChatHandlers.so") : configuredHandlers
        do {
            try plugins.start(with: try plugins.load(path: handlersPath))
        } catch {
            throw HandlerStartError(path: handlersPath, reason: error.description)
        }
        logger.info(
            "handlers loaded", metadata: ["path": "\(handlersPath)", "version": "\(plugins.current?.version ?? "")"])
        let services = RoomServices(
            storage: try RoomStorage(
                configuration: configuration, loops: group.loops, presenceRefPrefix: PresenceRefPrefix.make(),
                logger: logger),
            handler: PluginChannel(
                registry: plugins, budgetMilliseconds: configuration.upgrade.handlerCallBudgetMilliseconds
            ) { [logger] call, nanoseconds in
                metrics.slowHandlerCalls.add()
                logger.warning("handler call over budget", metadata: ["call": "\(call)", "ns": "\(nanoseconds)"])
            }, logger: logger, metrics: metrics, deflateLevel: configuration.websocket.deflateLevel, clock: clock,
            webhooks: WebhookDispatcher(configuration, logger: logger, wallMilliseconds: clock.wallMilliseconds))
        let rooms = try RoomRegistry(loops: group.loops, services: services)
        apiBackend = ServerAPIBackend(rooms: rooms)
        let upgrades = HandlerUpgrades(
            registry: plugins, rooms: rooms, logger: logger,
            validator: PluginValidator.sameBinary(
                argv0: ProcessEnvironment.executablePath() ?? "holdfast", environment: ProcessEnvironment.entries(),
                timeoutMilliseconds: configuration.upgrade.pluginValidationTimeoutMilliseconds),
            swapTimeoutMilliseconds: configuration.upgrade.handlerSwapTimeoutMilliseconds)
        self.group = group
        let admin = try AdminAccess(
            configuredToken: configuration.admin.token, stateDirectory: configuration.server.stateDirectory,
            binaryVersion: binaryVersion)
        let notBefore = NotBeforeStore(path: configuration.server.stateDirectory + "/not-before.json")
        let api = configuration.api.isEnabled ? APIService(
            configuration: configuration.api, backend: apiBackend, notBefore: notBefore,
            monotonicMilliseconds: clock.nowMilliseconds, wallMilliseconds: clock.wallMilliseconds) : nil
        if let api { rooms.cluster?.serve(api) }  // clustered: disconnects reach every node, presence is all nodes'
        self.context = ServerContext(
            configuration: configuration, logger: logger, tls: tls, metrics: metrics, rooms: rooms, secret: secret,
            admin: admin, upgrades: upgrades, clock: clock, handoff: binaryUpgrade, handoffFault: handoffFault,
            api: api, notBefore: notBefore)
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
        // Many sockets, and a later binary upgrade briefly holds them twice (in flight to the new process).
        ProcessLimits.raiseFileLimit()
        let plain = try Socket.listenSharingPort(on: configuration.server.listen, count: group.loops.count)
        var secure: [Int32] = []
        if configuration.tls.isEnabled {
            secure = try Socket.listenSharingPort(on: configuration.tls.listen, count: group.loops.count)
        }
        let adminFD = try Socket.listen(on: configuration.admin.listen, backlog: 64, reusePort: false)
        var specs = plain.enumerated().map { ListenerSpec(fd: $0.element, kind: .plain, loopIndex: $0.offset) }
        specs += secure.enumerated().map { ListenerSpec(fd: $0.element, kind: .tls, loopIndex: $0.offset) }
        specs.append(ListenerSpec(fd: adminFD, kind: .admin, loopIndex: 0))
        if configuration.api.isEnabled, let address = configuration.api.listen {
            specs.append(ListenerSpec(fd: try Socket.listen(on: address, backlog: 256, reusePort: false), kind: .api, loopIndex: 1))
        }
        let perLoop = prepareLoops()
        try install(specs, perLoop: perLoop)
        group.start()
        try context.rooms.cluster?.awaitRegistration()  // clustered: a live node's name is refused here
        _ = try? systemd.notify(["MAINPID": "\(getpid())", "READY": "1"])
        startLivenessPings()
        logAddresses("listening")
    }

    /// Feeds systemd's watchdog (`WatchdogSec=`) for as long as every loop answers.
    func startLivenessPings() {
        let logger = context.logger
        let pings = LivenessPings(notifier: systemd, loops: group.loops, environment: ProcessEnvironment.current()) {
            answered, loops in
            logger.warning(
                "not every event loop answered within half the watchdog period: no watchdog ping this round",
                metadata: ["answered": "\(answered)", "loops": "\(loops)"])
        }
        pings?.start()
        state.withLock { $0.liveness = pings }
    }

    /// A listening socket and the loop that serves it.
    struct ListenerSpec {
        let fd: Int32
        let kind: ListenerSnapshot.Kind
        let loopIndex: Int
    }

    /// One connection list per loop, each swept every 250 ms once the loops run.
    func prepareLoops() -> [LoopConnections] {
        let watch = HeapWatch(slackPercentOfInUse: configuration.server.heapTrimSlackPercent) { [logger = context.logger] in
            logger.debug("heap trimmed", metadata: ["freed": "\($0)"])
        }
        return group.loops.enumerated().map { index, loop in
            let connections = LoopConnections(loop: loop, context: context)
            if index == 0 { connections.heapWatch = watch }
            scheduleSweep(on: loop, connections: connections)
            return connections
        }
    }

    /// Creates the listeners on their loops (before the loops run) and records the bound addresses.
    func install(_ specs: [ListenerSpec], perLoop: [LoopConnections]) throws {
        var listeners: [(loop: EventLoop, listener: Listener)] = []
        for spec in specs {
            let index = spec.loopIndex % group.loops.count
            let loop = group.loops[index]
            let listener = Listener(
                fd: spec.fd, isTLS: spec.kind == .tls, isAdmin: spec.kind == .admin, isAPI: spec.kind == .api, loop: loop,
                context: context, connections: perLoop[index])
            try loop.register(fd: spec.fd, interest: .readable, handler: listener)
            listeners.append((loop, listener))
        }
        let address = { (kind: ListenerSnapshot.Kind) in
            specs.first { $0.kind == kind }.flatMap { try? SocketAddress.local(of: $0.fd) }
        }
        state.withLock {
            $0.listeners = listeners
            $0.loopConnections = perLoop
            $0.boundAddress = address(.plain)
            $0.boundTLSAddress = address(.tls)
            $0.boundAdminAddress = address(.admin)
            $0.boundAPIAddress = address(.api)
        }
        apiBackend.attach(perLoop)
        binaryUpgrade.attach(
            HandoffRuntime(context: context, loops: group.loops, listeners: listeners, connections: perLoop))
    }

    /// The log line tests and operators read the addresses from.
    func logAddresses(_ message: Logger.Message) {
        let (plain, secure, admin, api) = state.withLock {
            ($0.boundAddress, $0.boundTLSAddress, $0.boundAdminAddress, $0.boundAPIAddress)
        }
        context.logger.info(message, metadata: [
                "address": "\(plain.map { "\($0)" } ?? "none")",
                "tls-address": "\(secure.map { "\($0)" } ?? "off")",
                "admin-address": "\(admin.map { "\($0)" } ?? "none")",
                "api-address": "\(api.map { "\($0)" } ?? "off")",
                "admin-token": "\(context.admin.tokenPath ?? "configured")",
                "event-loops": "\(group.loops.count)",
                "max-connections": "\(configuration.server.maxConnections)",
                "version": "\(context.admin.binaryVersion)",
                "pid": "\(getpid())",
            ])
    }

    /// Every 250 ms (real time) each loop checks its connections' deadlines (handshake, idle, closing) against
    /// the server's clock.
    func scheduleSweep(on loop: EventLoop, connections: LoopConnections) {
        loop.schedule(afterMilliseconds: 250) { [self] in
            connections.sweep(now: context.clock.nowMilliseconds())
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
            if signal == SIGUSR2 {
                upgradeOnSignal()
                continue
            }
            context.logger.info("signal ignored", metadata: ["signal": "\(signal)"])
        }
        shutdown()
    }

    /// SIGUSR2: a binary upgrade to `upgrade.binary`, or to the path this process was started as.
    private func upgradeOnSignal() {
        let configured = configuration.upgrade.binary
        let path = configured.isEmpty ? context.handoff.startupExecutable : configured
        context.logger.notice("SIGUSR2: binary upgrade requested", metadata: ["binary": "\(path)"])
        let logger = context.logger
        context.handoff.upgrade(to: path, requesterFD: nil) { result in
            if case .failure(let failure) = result {
                logger.error("binary upgrade failed, still serving",
                    metadata: ["check": "\(failure.check)", "reason": "\(failure.reason)"])
            }
        }
    }

    /// Graceful shutdown: stop accepting, close 1001 to every WebSocket, flush, wait (bounded) for the
    /// connections to end, then stop the loops.
    public func shutdown() {
        guard !context.shuttingDown.exchange(true, ordering: .relaxed) else { return }
        _ = try? systemd.notify(["STOPPING": "1"])
        state.withLock { $0.liveness }?.stop()
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
        let deadline = MonotonicClock.nowMilliseconds() + configuration.server.shutdownTimeoutMilliseconds
        while openConnections > 0 && MonotonicClock.nowMilliseconds() < deadline { usleep(10_000) }
        if openConnections > 0 {
            context.logger.warning(
                "shutdown timeout reached, closing remaining connections", metadata: ["open": "\(openConnections)"])
        }
        context.rooms.cluster?.shutdown()  // this node's presence leaves, its name is released
        group.stopAndJoin()
        context.rooms.webhooks?.flushForExit()
        context.logger.notice(
            "stopped", metadata: ["accepted-total": "\(context.acceptedConnections.load(ordering: .relaxed))"])
    }
}
