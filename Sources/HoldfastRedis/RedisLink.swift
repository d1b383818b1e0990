import CHiredis
import Glibc
import HoldfastConfig
import HoldfastCore
import Synchronization

/// One logical connection to Redis that outlives its TCP connections: connects, logs in, reports its state, and
/// after a failure reconnects with backoff. ``RedisClient`` and ``RedisSubscriber`` are built on it.
///
/// Thread ownership: loop thread, except ``status`` (behind a mutex).
final class RedisLink: HiredisConnectionDelegate, @unchecked Sendable {
    let url: RedisURL
    let loop: EventLoop
    let options: RedisClientOptions
    /// Called when a connection became ready (the subscriber subscribes again here).
    var onReady: (() -> Void)?
    var onStateChange: ((RedisLinkState) -> Void)?
    /// Pub/sub pushes of the current connection.
    var onPush: ((RedisReply) -> Void)?

    // Loop-thread state.
    private(set) var state: RedisLinkState = .idle
    /// The connection being set up or in use; nil while waiting to reconnect.
    private(set) var connection: HiredisConnection?
    private var backoff: RedisBackoff
    private var random = SystemRandomNumberGenerator()
    private var failures = 0
    /// The connect-timeout or the reconnect timer (never both).
    private var timer: TimerID?
    private var watchdog: TimerID?
    /// Bumped per attempt, so a name resolution that returns late for an abandoned attempt is ignored.
    private var attemptNumber = 0
    private let statusStore: Mutex<RedisLinkStatus>

    init(url: RedisURL, loop: EventLoop, options: RedisClientOptions) {
        self.url = url
        self.loop = loop
        self.options = options
        backoff = options.backoff
        statusStore = Mutex(
            RedisLinkStatus(
                address: url.description, state: .idle, stateSinceMilliseconds: ServerClock.system.wallMilliseconds(),
                connections: 0, lastError: nil))
    }

    /// A copy of the state and counters; any thread.
    var status: RedisLinkStatus { statusStore.withLock { $0 } }

    func start() {
        guard state == .idle else { return }
        attempt()
    }

    /// Stops for good: later commands fail with ``RedisError/closed``; replies in flight still arrive (for up to
    /// a second), then the socket closes.
    func close() {
        guard state != .closed else { return }
        cancelTimers()
        attemptNumber += 1
        enter(.closed, error: nil)
        guard let connection else { return }
        self.connection = nil
        connection.abortReason = .closed
        connection.disconnect()
        loop.schedule(afterMilliseconds: 1_000) { connection.abort(.closed) }
    }

    // MARK: Commands

    /// Sends a regular command on the ready connection; otherwise fails it on the loop's next pass.
    func send(_ arguments: [RedisArgument], _ completion: @escaping (Result<RedisReply, RedisError>) -> Void) {
        guard state == .ready, let connection else {
            return failSoon(completion, state == .closed ? .closed : .notConnected)
        }
        let sent = connection.send(arguments) { reply in
            guard let reply else { return completion(.failure(connection.abortReason ?? .connectionLost)) }
            switch RedisReply(reply) {
            case .error(let message): completion(.failure(.server(message)))
            case let value: completion(.success(value))
            }
        }
        if !sent { failSoon(completion, .notConnected) }
    }

    /// Sends a pub/sub command on the ready connection; false when there is none.
    func sendPubSub(_ arguments: [RedisArgument]) -> Bool {
        guard state == .ready, let connection else { return false }
        return connection.sendPubSub(arguments)
    }

    private func failSoon(_ completion: @escaping (Result<RedisReply, RedisError>) -> Void, _ error: RedisError) {
        loop.schedule(afterMilliseconds: 0) { completion(.failure(error)) }
    }

    // MARK: Connecting

    private func attempt() {
        attemptNumber += 1
        let number = attemptNumber
        enter(.connecting(attempt: failures), error: nil)
        let timeout = options.connectTimeoutMilliseconds
        timer = loop.schedule(afterMilliseconds: timeout) { [weak self] in
            self?.timer = nil
            self?.fail(.connectFailed("no connection within \(timeout) ms"))
        }
        guard !Self.isNumericAddress(url.host) else { return connect(to: url.host) }
        // getaddrinfo blocks (hiredis would call it on the loop thread): resolve on a thread of its own.
        let host = url.host
        let loop = self.loop
        let link = self
        startThread {
            let resolved = Self.resolve(host)
            loop.execute {
                guard link.attemptNumber == number, case .connecting = link.state else { return }
                switch resolved {
                case .success(let address): link.connect(to: address)
                case .failure(let error): link.fail(error)
                }
            }
        }
    }

    private func connect(to address: String) {
        let result = HiredisConnection.connect(
            host: address, port: url.port, loop: loop, delegate: self)
        switch result {
        case .success(let connection): self.connection = connection
        case .failure(let error): fail(error)
        }
    }

    /// Logs in on a fresh connection: `AUTH`, `SELECT`, `CLIENT SETNAME`, then `PING`, pipelined; ready when the
    /// last reply is in.
    private func handshake(_ connection: HiredisConnection) {
        var commands: [(RedisArgument, [RedisArgument])] = []
        if let password = url.password {
            commands.append(
                ("AUTH", url.username.map { [RedisArgument($0), RedisArgument(password)] } ?? [.init(password)]))
        }
        if url.database != 0 { commands.append(("SELECT", [RedisArgument(url.database)])) }
        if let name = options.clientName { commands.append(("CLIENT", ["SETNAME", RedisArgument(name)])) }
        commands.append(("PING", []))
        var remaining = commands.count
        var firstError: RedisError?
        for (name, arguments) in commands {
            let sent = connection.send([name] + arguments) { [weak self] reply in
                if firstError == nil, let reply, case .error(let message) = RedisReply(reply) {
                    let refused = name == "AUTH" || message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS")
                    firstError = refused ? .authenticationFailed(message) : .connectFailed(message)
                }
                remaining -= 1
                // A nil reply means the connection ended; its disconnect callback reports that.
                guard remaining == 0, reply != nil, let self, connection === self.connection else { return }
                if let firstError { self.fail(firstError) } else { self.becomeReady() }
            }
            if !sent { return fail(.connectFailed("hiredis refused the login command")) }
        }
    }

    private func becomeReady() {
        cancelTimers()
        backoff.reset()
        failures = 0
        statusStore.withLock { $0.connections += 1 }
        enter(.ready, error: nil)
        armWatchdog()
        onReady?()
    }

    /// Drops the current connection (if any) and schedules the next attempt.
    private func fail(_ error: RedisError, detail: String? = nil) {
        guard state != .closed else { return }
        cancelTimers()
        if let connection {
            self.connection = nil
            connection.abort(error == .timedOut ? .timedOut : .connectionLost)
        }
        failures += 1
        let delay = backoff.nextDelay(using: &random)
        enter(
            .waitingToReconnect(attempt: failures, delayMilliseconds: delay, lastError: error),
            error: detail ?? "\(error)")
        timer = loop.schedule(afterMilliseconds: delay) { [weak self] in
            self?.timer = nil
            self?.attempt()
        }
    }

    private func armWatchdog() {
        let timeout = options.commandTimeoutMilliseconds
        watchdog = loop.schedule(afterMilliseconds: max(50, timeout / 4)) { [weak self] in
            guard let self else { return }
            watchdog = nil
            guard state == .ready else { return }
            if let since = connection?.oldestPendingSince, MonotonicClock.nowMilliseconds() - since > timeout {
                return fail(.timedOut)
            }
            armWatchdog()
        }
    }

    private func cancelTimers() {
        if let timer { loop.cancel(timer) }
        if let watchdog { loop.cancel(watchdog) }
        timer = nil
        watchdog = nil
    }

    private func enter(_ next: RedisLinkState, error: String?) {
        state = next
        let now = ServerClock.system.wallMilliseconds()
        statusStore.withLock {
            $0.state = next
            $0.stateSinceMilliseconds = now
            if let error { $0.lastError = error }
        }
        onStateChange?(next)
    }

    // MARK: HiredisConnectionDelegate

    func hiredisConnected(_ connection: HiredisConnection) {
        guard connection === self.connection else { return }
        handshake(connection)
    }

    func hiredisConnectFailed(_ connection: HiredisConnection, reason: String) {
        guard connection === self.connection else { return }
        self.connection = nil  // hiredis frees it
        fail(.connectFailed(reason))
    }

    func hiredisDisconnected(_ connection: HiredisConnection, reason: String?) {
        guard connection === self.connection else { return }
        self.connection = nil
        let text = reason ?? "closed"
        fail(state == .ready ? .connectionLost : .connectFailed(text), detail: "connection lost: \(text)")
    }

    func hiredisPush(_ connection: HiredisConnection, reply: RedisReply) {
        guard connection === self.connection else { return }
        onPush?(reply)
    }

    // MARK: Name resolution

    private static func isNumericAddress(_ host: String) -> Bool {
        var buffer = in6_addr()
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }

    /// The first IPv4 address of `host`, else its first address (a `localhost` that resolves to `::1` first
    /// would miss a Redis bound to 127.0.0.1 only).
    private static func resolve(_ host: String) -> Result<String, RedisError> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let list else {
            return .failure(.connectFailed("cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var chosen = list
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET {
                chosen = entry
                break
            }
            cursor = entry.pointee.ai_next
        }
        var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = getnameinfo(
            chosen.pointee.ai_addr, chosen.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST)
        guard named == 0 else { return .failure(.connectFailed("cannot resolve \(host)")) }
        return .success(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
