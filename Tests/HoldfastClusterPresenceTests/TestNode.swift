import Glibc
import HoldfastClusterPresence
import HoldfastConfig
import HoldfastCore
import HoldfastJSON
import HoldfastPresence
import HoldfastRedis
import HoldfastTestSupport
import Synchronization

/// How a node's start ended.
enum Started: Sendable, Equatable {
    case started
    case refused(NodeRegistryError)
    case noAnswer
}

/// What a node's local members were sent for one room.
struct Pushed: Sendable, Equatable {
    /// `presence_diff` or `presence_state`.
    var event: String
    var payload: JSONValue
}

/// One node wired the way the room runtime is to wire this module: its own loop, a command client, a subscriber,
/// the registry, and per room a driver fed by a real `PresenceState` (the room's local truth).
final class TestNode: @unchecked Sendable {
    let name: String
    let thread: LoopThread
    let client: RedisClient
    let subscriber: RedisSubscriber
    let registry: NodeRegistry
    let window: Int64
    // Loop-thread state.
    private var drivers: [String: ClusterPresenceDriver] = [:]
    private var locals: [String: PresenceState] = [:]
    private var readyCount = 0
    // Any thread.
    let pushed = Mutex<[String: [Pushed]]>([:])
    let startResult = Mutex<Result<Void, NodeRegistryError>?>(nil)
    let reaps = Mutex<[String]>([])
    let problems = Mutex<[String]>([])
    /// When the last presence push arrived, per room (wall-clock ms).
    let lastPushAt = Mutex<[String: Int64]>([:])

    static let options = RedisClientOptions(
        connectTimeoutMilliseconds: 500, commandTimeoutMilliseconds: 2_000,
        backoff: RedisBackoff(initialMilliseconds: 20, maximumMilliseconds: 200))

    init(
        _ name: String, port: UInt16, timeout: Int64, window: Int64 = 0, record: NodeRecord? = nil
    ) throws {
        self.name = name
        self.window = window
        thread = try LoopThread()
        let url = RedisURL(host: "127.0.0.1", port: port)
        client = try RedisClient(url: url, loop: thread.loop, options: Self.options)
        subscriber = try RedisSubscriber(url: url, loop: thread.loop, options: Self.options)
        registry = NodeRegistry(
            client: client, record: record ?? .fresh(name: name), timeoutMilliseconds: timeout,
            imported: record != nil)
    }

    /// Connects and claims the name; the registry's verdict.
    func start() -> Started {
        thread.sync { [self] in
            client.onStateChange = { [unowned self] state in
                guard state == .ready else { return }
                readyCount += 1
                if readyCount > 1 { for driver in drivers.values { driver.linkReady() } }
            }
            subscriber.onSubscribed = { [unowned self] channel in
                drivers.values.first { $0.state.channel == channel }?.subscribed()
            }
            registry.onStarted = { [unowned self] result in startResult.withLock { $0 = result } }
            registry.onOwnershipLost = { [unowned self] in
                var remaining = drivers.count
                guard remaining > 0 else { return registry.entriesRewritten() }
                for driver in drivers.values {
                    driver.linkReady {
                        remaining -= 1
                        if remaining == 0 { self.registry.entriesRewritten() }
                    }
                }
            }
            registry.onNodeGone = { [unowned self] gone in for driver in drivers.values { driver.dropNode(gone) } }
            registry.onNodeReaped = { [unowned self] dead, rooms in reaps.withLock { $0.append("\(dead):\(rooms)") } }
            registry.onProblem = { [unowned self] text in problems.withLock { $0.append(text) } }
            client.start()
            subscriber.start()
        }
        guard eventually(timeout: 5_000, { client.status.state == .ready }) else { return .noAnswer }
        thread.sync { [self] in registry.start() }
        _ = eventually(timeout: 15_000) { startResult.withLock { $0 } != nil }
        switch startResult.withLock({ $0 }) {
        case .success?: return .started
        case .failure(let error)?: return .refused(error)
        case nil: return .noAnswer
        }
    }

    /// A member (`owner`) tracks `key` in `room`: the room's diff goes to the cluster.
    func join(_ room: String, owner: UInt64, key: String, device: String) {
        thread.sync { [self] in
            let driver = driver(for: room)
            _ = locals[room]!.track(owner: owner, key: key, meta: .object([JSONMember("device", .string(device))]))
            if let diff = locals[room]!.takeDiff() { driver.localDiff(diff) }
        }
    }

    /// A member leaves `room`.
    func leave(_ room: String, owner: UInt64) {
        thread.sync { [self] in
            locals[room]!.untrackAll(owner: owner)
            if let diff = locals[room]!.takeDiff() { drivers[room]!.localDiff(diff) }
        }
    }

    /// The merged view of `room`: key → phx_refs.
    func view(_ room: String) -> [String: [String]] {
        thread.run { [self] (done: @escaping ([String: [String]]) -> Void) in
            done(refsByKey(drivers[room]?.statePayload))
        } ?? [:]
    }

    /// What `room`'s local members were sent.
    func sent(_ room: String) -> [Pushed] { pushed.withLock { $0[room] ?? [] } }

    /// The room's view for a handoff, plus the local presence it rests on.
    func export(_ room: String) -> (view: [UInt8], local: PresenceSnapshot) {
        thread.run { [self] (done: @escaping (([UInt8], PresenceSnapshot)) -> Void) in
            done((drivers[room]!.state.exportSnapshot(), locals[room]!.exportState()))
        }!
    }

    /// Takes over a room handed over by an older process of this node.
    func importRoom(_ room: String, view: [UInt8], local: PresenceSnapshot) throws {
        let state = try ClusterPresence(importing: view, room: room, node: name, windowMilliseconds: window)
        thread.sync { [self] in
            locals[room] = PresenceState(importing: local)
            attach(ClusterPresenceDriver(state: state, client: client), room: room)
        }
    }

    /// Stops everything at once, as `kill -9` would (nothing is said to Redis), or hands over (`upgrade`: the same).
    func kill() {
        thread.sync { [self] in
            registry.stop(leave: false)
            for driver in drivers.values { driver.close() }
            client.close()
            subscriber.close()
        }
    }

    /// Stops for good, its members leaving everyone's view.
    func shutDown() {
        thread.sync { [self] in registry.stop(leave: true) }
        _ = eventually(timeout: 2_000) { registry.phase == .stopped }
        usleep(200_000)  // the leave script's reply
        kill()
    }

    /// Freezes the node's loop for `milliseconds`: no timer, no socket, as a SIGSTOP or a swap storm would.
    func stall(milliseconds: Int) {
        thread.loop.execute { usleep(UInt32(milliseconds) * 1_000) }
    }

    private func driver(for room: String) -> ClusterPresenceDriver {
        if let driver = drivers[room] { return driver }
        locals[room] = PresenceState(refPrefix: name + ".")
        let driver = ClusterPresenceDriver(
            state: ClusterPresence(room: room, node: name, windowMilliseconds: window), client: client)
        attach(driver, room: room)
        return driver
    }

    private func attach(_ driver: ClusterPresenceDriver, room: String) {
        drivers[room] = driver
        driver.onPushDiff = { [unowned self] payload in record(room, Pushed(event: "presence_diff", payload: payload)) }
        driver.onPushState = { [unowned self] payload in
            record(room, Pushed(event: "presence_state", payload: payload))
        }
        driver.onProblem = { [unowned self] text in problems.withLock { $0.append(text) } }
        subscriber.subscribe(driver.state.channel) { [unowned driver] bytes in driver.busMessage(bytes) }
    }

    private func record(_ room: String, _ push: Pushed) {
        pushed.withLock { $0[room, default: []].append(push) }
        lastPushAt.withLock { $0[room] = ServerClock.system.wallMilliseconds() }
    }
}

/// A plain client for looking at Redis from the test.
final class Inspector: @unchecked Sendable {
    let thread: LoopThread
    let client: RedisClient

    init(port: UInt16) throws {
        thread = try LoopThread()
        client = try RedisClient(url: RedisURL(host: "127.0.0.1", port: port), loop: thread.loop)
        thread.sync { [client] in client.start() }
        _ = eventually(timeout: 5_000) { client.status.state == .ready }
    }

    func command(_ arguments: [RedisArgument]) -> RedisReply? {
        thread.run { [client] (done: @escaping (RedisReply?) -> Void) in
            client.send(arguments) { done(try? $0.get()) }
        } ?? nil
    }

    /// The hash fields of `room`'s presence.
    func fields(_ room: String) -> [String] {
        let flat = command(["HGETALL", RedisArgument(ClusterKeys().presence(room: room))])?.array ?? []
        return stride(from: 0, to: flat.count, by: 2).compactMap { flat[$0].string }.sorted()
    }

    func close() { thread.sync { [client] in client.close() } }
}
