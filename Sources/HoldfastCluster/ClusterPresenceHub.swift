import Glibc
public import HoldfastClusterPresence
import HoldfastConfig
import HoldfastCore
import HoldfastJSON
import HoldfastRedis
import Logging
import Synchronization

/// The node's side of presence across the cluster: the ``NodeRegistry`` (name, heartbeats, dead nodes) on loop
/// 0's command connection, and the rooms that hold a ``ClusterPresenceDriver``, per loop, so that node-wide
/// events (the command link is back, the node's token was lost, a node vanished) reach each of them through its
/// mailbox.
///
/// A binary upgrade hands the node's ``NodeRecord`` and each room's view to the new process in a file of the
/// state directory (`cluster-handoff.json`), written by the old process just before its final stream and read by
/// its child once its loops run (after the final stream, so the file is there): the new process continues as the
/// same node under the same token, so Redis sees no leave and no join. Hence the registry is made on first use.
///
/// Thread ownership: the per-loop tables on their loops; the registry on loop 0; the import and export behind
/// mutexes (any thread).
public final class ClusterPresenceHub: @unchecked Sendable {
    /// `presence_window_ms`, for remote diffs.
    let windowMilliseconds: Int64
    let logger: Logger
    private let loops: [EventLoop]
    private let handoffPath: String
    private let name: String
    private let timeoutMilliseconds: Int64
    private let client: RedisClient
    /// The parent at start: a binary upgrade's old process, alive then (it waits for READY), but possibly gone by
    /// the time the registry is made (it exits once this process acknowledges the commit), when `getppid()` is
    /// no longer its pid.
    private let parentPID = getppid()
    private let made = Mutex<NodeRegistry?>(nil)
    /// The claim's outcome, and whether `holdfast serve`'s start waits for it (``awaitRegistration(_:)``).
    private let registration = Mutex<(outcome: Result<Void, NodeRegistryError>?, awaited: Bool)>((nil, false))
    // Per loop, on that loop: the rooms with a driver, by topic.
    private var rooms: [[String: @Sendable (ClusterRoomInput) -> Void]]
    // Per loop, on that loop: whether its command link was ready before (the next ready is a reconnect).
    private var linkWasReady: [Bool]
    private let imported = Mutex<[String: [UInt8]]>([:])
    private let exported = Mutex<[String: [UInt8]]>([:])
    /// Called on each loop once the registry holds the node's name.
    var onRegistered: ((EventLoop) -> Void)?

    init(configuration: Configuration, client: RedisClient, loops: [EventLoop], logger: Logger) {
        self.loops = loops
        self.logger = logger
        windowMilliseconds = configuration.channels.presenceWindowMilliseconds
        handoffPath = configuration.server.stateDirectory + "/cluster-handoff.json"
        rooms = loops.map { _ in [:] }
        linkWasReady = loops.map { _ in false }
        name = configuration.clusterNodeName()
        timeoutMilliseconds = configuration.cluster.nodeTimeoutMilliseconds
        self.client = client
    }

    /// The node's registry (its client is loop 0's command connection), made on first use: with the record a
    /// binary upgrade carried, else a fresh one. Any thread.
    public var registry: NodeRegistry {
        made.withLock { made in
            if let made { return made }
            let carried = Self.readHandoff(path: handoffPath, name: name, parent: parentPID)
            let registry = NodeRegistry(
                client: client, record: carried?.record ?? .fresh(name: name),
                timeoutMilliseconds: timeoutMilliseconds, imported: carried != nil)
            imported.withLock { $0 = carried?.rooms ?? [:] }
            configure(registry)
            made = registry
            return registry
        }
    }

    /// Blocks the caller (`holdfast serve`'s start, with the loops running) until the registry holds the node's
    /// name, at most `1.2 · node_timeout_ms` plus `connectMilliseconds` (the claim is retried that long while a
    /// crashed holder's key expires); returns early, without the name, when Redis is not reached within
    /// `connectMilliseconds` (the node starts as it did, and claims when Redis comes).
    ///
    /// - Throws: ``NodeRegistryError/nameTaken(name:holder:)``: another live process is this node.
    func awaitRegistration(connectMilliseconds: Int64) throws(NodeRegistryError) {
        registration.withLock { $0.awaited = true }
        defer { registration.withLock { $0.awaited = false } }
        let start = MonotonicClock.nowMilliseconds()
        let deadline = start + timeoutMilliseconds * 6 / 5 + connectMilliseconds
        while MonotonicClock.nowMilliseconds() < deadline {
            switch registration.withLock({ $0.outcome }) {
            case .success?: return
            case .failure(let error)?: throw error
            case nil: break
            }
            let claiming = made.withLock { $0 }.map { $0.phase != .idle } ?? false
            if !claiming && MonotonicClock.nowMilliseconds() - start > connectMilliseconds { return }
            usleep(5_000)
        }
    }

    /// The live nodes, once the registry runs. Any thread.
    var liveNodes: [NodeHeartbeat] { made.withLock { $0 }?.liveNodes ?? [] }

    /// The registry's callbacks. A name held by another live process ends this one: `holdfast serve` refuses to
    /// run, with the error's text.
    private func configure(_ registry: NodeRegistry) {
        let logger = logger
        registry.onStarted = { [self] result in
            switch result {
            case .success:
                registration.withLock { $0.outcome = .success(()) }
                logger.info("cluster node registered", metadata: ["node": "\(registry.record.name)"])
                for loop in loops { loop.execute { [self] in onRegistered?(loop) } }
            case .failure(let error):
                let awaited = registration.withLock {
                    $0.outcome = .failure(error)
                    return $0.awaited
                }
                guard !awaited else { return }  // the start refuses, with the error
                // A claim that outlasted the start's wait: no second process of a live node runs (the log is its
                // stderr).
                logger.critical("cluster node refused: \(error)")
                exit(1)
            }
        }
        registry.onOwnershipLost = { [self] in
            logger.warning("cluster node token lost, rewriting presence")
            let countdown = Countdown(loops.count) { registry.client.loop.execute { registry.entriesRewritten() } }
            for (index, loop) in loops.enumerated() {
                loop.execute { [self] in
                    for send in rooms[index].values {
                        countdown.add()
                        send(.ownershipLost(done: { countdown.done() }))
                    }
                    countdown.done()
                }
            }
        }
        registry.onNodeGone = { [self] name in everyRoom(.nodeGone(name)) }
        registry.onNameLost = { error in logger.error("cluster node name lost", metadata: ["error": "\(error)"]) }
        registry.onNodeReaped = { name, rooms in
            logger.notice("cluster node reaped", metadata: ["node": "\(name)", "rooms": "\(rooms)"])
        }
        registry.onProblem = { text in logger.warning("\(text)") }
    }

    /// `loop`'s command link became ready: the first time on the registry's loop, the registry claims the name;
    /// after the first time, every room there rewrites and re-reads.
    func linkReady(on loop: EventLoop) {
        guard linkWasReady[loop.index] else {
            linkWasReady[loop.index] = true
            if loop === registry.client.loop { registry.start() }
            return
        }
        for send in rooms[loop.index].values { send(.linkReady) }
    }

    /// A room on `loop` holds a driver now (or no longer: nil). Loop thread.
    func register(_ topic: String, on loop: EventLoop, _ send: (@Sendable (ClusterRoomInput) -> Void)?) {
        rooms[loop.index][topic] = send
    }

    /// The view a binary upgrade carried for `topic`, once (nil: none).
    func takeImported(_ topic: String) -> [UInt8]? {
        _ = registry  // reads what was carried
        return imported.withLock { $0.removeValue(forKey: topic) }
    }

    /// A room's view for the handoff (old process, during export). Any thread.
    func export(_ topic: String, _ snapshot: [UInt8]) { exported.withLock { $0[topic] = snapshot } }

    /// Binary upgrade, old process, before the pause (`active`) or on rollback: while active, every heartbeat
    /// counts as `loginMilliseconds` (the new process's first Redis login at most) plus `node_timeout_ms` (the
    /// pause, the claim) later, so the node stays live while this process's loops are frozen and the new process
    /// starts, until the new process beats under the same token. Otherwise another node could reap it in that
    /// gap: a leave diff for each of its members everywhere. Waits (at most a tick plus a second) until Redis
    /// holds such a beat. Any thread but the loops.
    public func handingOver(_ active: Bool, loginMilliseconds: Int64) {
        let graceMilliseconds = loginMilliseconds + timeoutMilliseconds
        guard let registry = made.withLock({ $0 }) else { return }
        guard active else { return registry.client.loop.execute { registry.endHandoff() } }
        let done = Atomic<Int>(0)  // 0 waiting, 1 confirmed, 2 not
        registry.client.loop.execute {
            registry.beginHandoff(graceMilliseconds: graceMilliseconds) { done.store($0 ? 1 : 2, ordering: .releasing) }
        }
        let deadline = MonotonicClock.nowMilliseconds() + timeoutMilliseconds / 5 + 1_000
        while done.load(ordering: .acquiring) == 0 && MonotonicClock.nowMilliseconds() < deadline { usleep(2_000) }
        if done.load(ordering: .acquiring) != 1 {
            logger.warning("cluster heartbeat grace for the upgrade not confirmed by Redis")
        }
    }

    /// Binary upgrade, old process, in the pause: writes the node record and the rooms' views for the new process
    /// (its child). A failure is logged: the new process then claims a new token after the old one expires.
    public func writeHandoff() {
        // Taken, not copied: a later attempt (after this one failed) exports every room again.
        let rooms = exported.withLock { exported in
            defer { exported = [:] }
            return exported
        }
        let value = JSONValue.object([
            JSONMember("pid", .integer(Int64(getpid()))),
            JSONMember("record", .string(String(decoding: registry.record.encoded(), as: UTF8.self))),
            JSONMember(
                "rooms",
                .object(rooms.map { JSONMember($0.key, .string(String(decoding: $0.value, as: UTF8.self))) })),
        ])
        let bytes = JSON.encode(value)
        let temporary = handoffPath + ".tmp"
        guard let file = fopen(temporary, "w"), fwrite(bytes, 1, bytes.count, file) == bytes.count,
            fclose(file) == 0, rename(temporary, handoffPath) == 0
        else {
            return logger.error("cluster handoff not written", metadata: ["path": "\(handoffPath)"])
        }
    }

    /// Graceful shutdown (not an upgrade): this node's entries leave (one diff per room) and the name is released;
    /// waits up to a second for Redis to answer.
    func leave() {
        let registry = self.registry
        let gone = Atomic<Bool>(false)
        registry.client.loop.execute {
            registry.stop(leave: true)
            // The reap script was sent first on this connection: a PING behind it answers after it.
            registry.client.send(["PING"]) { _ in gone.store(true, ordering: .releasing) }
        }
        let deadline = MonotonicClock.nowMilliseconds() + 1_000
        while !gone.load(ordering: .acquiring) && MonotonicClock.nowMilliseconds() < deadline { usleep(5_000) }
    }

    private func everyRoom(_ input: ClusterRoomInput) {
        for (index, loop) in loops.enumerated() {
            loop.execute { [self] in for send in rooms[index].values { send(input) } }
        }
    }

    /// The record and rooms the parent process left for this one, if this process is its binary upgrade's child
    /// (the file names `parent`, the parent at start); the file is removed.
    private static func readHandoff(
        path: String, name: String, parent: pid_t
    ) -> (record: NodeRecord, rooms: [String: [UInt8]])? {
        guard let file = fopen(path, "r") else { return nil }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        fclose(file)
        guard let value = try? JSON.parse(bytes), value["pid"]?.integerValue == Int64(parent),
            let text = value["record"]?.stringValue, let record = try? NodeRecord(decoding: Array(text.utf8)),
            record.name == name
        else { return nil }
        unlink(path)
        var rooms: [String: [UInt8]] = [:]
        for member in value["rooms"]?.objectMembers ?? [] {
            if let snapshot = member.value.stringValue { rooms[member.key] = Array(snapshot.utf8) }
        }
        return (record, rooms)
    }
}

/// Calls `body` once as many ``done()`` as ``add()`` plus the initial count have come. Any thread.
final class Countdown: Sendable {
    private let remaining: Mutex<Int>
    private let body: @Sendable () -> Void

    init(_ count: Int, _ body: @escaping @Sendable () -> Void) {
        remaining = Mutex(count)
        self.body = body
    }

    func add() { remaining.withLock { $0 += 1 } }

    func done() {
        if remaining.withLock({
            $0 -= 1
            return $0 == 0
        }) {
            body()
        }
    }
}

/// ``NodeRegistry``'s live nodes as `/admin/status` lists them.
struct RegistryNodes: ClusterNodeRegistry {
    let hub: ClusterPresenceHub

    var liveNodes: [ClusterNodeInfo] {
        hub.liveNodes.map { ClusterNodeInfo(name: $0.name, lastHeartbeatMilliseconds: $0.lastHeartbeatMilliseconds) }
    }
}
