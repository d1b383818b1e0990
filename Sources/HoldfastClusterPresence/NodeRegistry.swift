import HoldfastCore
public import HoldfastRedis
import Synchronization

/// The driver of ``NodeRegistryState`` over a ``RedisClient``: performs its actions, feeds the replies back, and
/// ticks it every `node_timeout_ms / 5`.
///
/// Thread ownership: the client's loop, except ``liveNodes`` and ``phase`` (copies behind a mutex, for
/// `/admin/status` on any thread). Callbacks run on the loop.
public final class NodeRegistry: @unchecked Sendable {
    /// The command connection (its loop runs the timer).
    public let client: RedisClient
    /// Key names.
    public let keys: ClusterKeys
    // Loop-thread state.
    private var state: NodeRegistryState
    private var timer: TimerID?
    private let published: Mutex<(NodeRegistryState.Phase, [NodeHeartbeat])>
    /// Waiting for a beat under the handoff grace to be renewed (``beginHandoff(graceMilliseconds:confirmed:)``).
    private var graceConfirmations: [(Bool) -> Void] = []

    /// Once: `.success` when the name is ours and rooms may take members, or why the node cannot start.
    public var onStarted: ((Result<Void, NodeRegistryError>) -> Void)?
    /// The node's token was gone: rewrite every room (``ClusterPresenceDriver/linkReady(_:)``), then call
    /// ``entriesRewritten()``.
    public var onOwnershipLost: (() -> Void)?
    /// Another process holds this node's name now; heartbeats have stopped.
    public var onNameLost: ((NodeRegistryError) -> Void)?
    /// This node reaped `name`: one leave diff went to each of `rooms` rooms.
    public var onNodeReaped: ((_ name: String, _ rooms: Int) -> Void)?
    /// A live node vanished from `hf:nodes` without a reap: rooms should ``ClusterPresenceDriver/dropNode(_:)``.
    public var onNodeGone: ((String) -> Void)?
    /// A Redis failure worth a log line.
    public var onProblem: ((String) -> Void)?

    /// A registry for `record` (``NodeRecord/fresh(name:)`` at a normal start; the imported one after a binary
    /// upgrade, with `imported: true`).
    public init(
        client: RedisClient, record: NodeRecord, timeoutMilliseconds: Int64, imported: Bool = false,
        keys: ClusterKeys = ClusterKeys()
    ) {
        self.client = client
        self.keys = keys
        state = NodeRegistryState(record: record, timeoutMilliseconds: timeoutMilliseconds, imported: imported)
        published = Mutex((.idle, []))
    }

    /// The name and token, for the handoff to a new binary. Any thread.
    public var record: NodeRecord { state.record }

    /// The live nodes at the last survey, with their last heartbeat (Redis's clock). Any thread.
    public var liveNodes: [NodeHeartbeat] { published.withLock { $0.1 } }

    /// Where the registry stands. Any thread.
    public var phase: NodeRegistryState.Phase { published.withLock { $0.0 } }

    /// Claims the name and starts ticking. Loop thread.
    public func start() {
        perform(state.start(now: MonotonicClock.nowMilliseconds()))
        scheduleTick()
    }

    /// Stops ticking; `leave` also removes this node's entries (one leave diff per room) and releases the name.
    /// Without it (handing over to a new binary) Redis keeps everything. Loop thread.
    public func stop(leave: Bool) {
        if let timer { client.loop.cancel(timer) }
        timer = nil
        perform(state.stop(leave: leave))
    }

    /// A binary upgrade starts: every beat counts as `graceMilliseconds` later until ``endHandoff()`` or the process
    /// exits (see ``NodeRegistryState/beginHandoff(graceMilliseconds:)``). `confirmed` runs once: true when Redis
    /// renewed a beat under the grace, false when the registry does not run. Loop thread.
    public func beginHandoff(graceMilliseconds: Int64, confirmed: @escaping (Bool) -> Void) {
        guard state.phase == .running else { return confirmed(false) }
        graceConfirmations.append(confirmed)
        perform(state.beginHandoff(graceMilliseconds: graceMilliseconds))
    }

    /// The binary upgrade was rolled back: beats count as sent again. Loop thread.
    public func endHandoff() {
        state.endHandoff()
        let waiting = graceConfirmations
        graceConfirmations = []
        for confirmed in waiting { confirmed(false) }
    }

    /// Every room rewrote its entries after ``onOwnershipLost``. Loop thread.
    public func entriesRewritten() { state.entriesRewritten() }

    private func scheduleTick() {
        timer = client.loop.schedule(afterMilliseconds: state.tickMilliseconds) { [weak self] in
            guard let self else { return }
            timer = nil
            switch state.phase {
            case .stopped, .failed: return
            case .idle, .claiming, .clearing, .running: break
            }
            perform(state.tick(now: MonotonicClock.nowMilliseconds()))
            scheduleTick()
        }
    }

    private func perform(_ actions: [NodeRegistryAction]) {
        published.withLock { $0 = (state.phase, state.liveNodes) }
        for action in actions { perform(action) }
    }

    private func perform(_ action: NodeRegistryAction) {
        let name = state.record.name
        let token = state.record.token
        let timeout = state.timeoutMilliseconds
        switch action {
        case .claim:
            claim(name: name, token: token, timeout: timeout)
        case .heartbeat(let announce):
            let grace = state.handoffGraceMilliseconds
            client.run(
                ClusterScripts.heartbeat, keys: [keys.node(name), keys.nodes],
                arguments: [
                    RedisArgument(token), RedisArgument(timeout), RedisArgument(name), announce ? "1" : "0",
                    RedisArgument(grace),
                ]
            ) { [self] result in
                let outcome = Self.heartbeatOutcome(result)
                if grace > 0, case .renewed = outcome {
                    let waiting = graceConfirmations
                    graceConfirmations = []
                    for confirmed in waiting { confirmed(true) }
                }
                perform(state.heartbeatReplied(outcome, now: MonotonicClock.nowMilliseconds()))
            }
        case .survey:
            client.run(ClusterScripts.survey, keys: [keys.nodes], arguments: []) { [self] result in
                let now = MonotonicClock.nowMilliseconds()
                guard let (redisNow, nodes) = Self.survey(result) else {
                    report("survey", result)
                    return state.surveyFailed()
                }
                perform(state.surveyed(redisNow: redisNow, nodes: nodes, now: now))
            }
        case .lockReap(let dead):
            client.send(["SET", RedisArgument(keys.reapLock(dead)), RedisArgument(name), "NX", "PX", .init(timeout)]) {
                [self] result in
                let won = (try? result.get()) == .status("OK")
                perform(state.reapLockReplied(dead, won: won, now: MonotonicClock.nowMilliseconds()))
            }
        case .reap(let dead, let force):
            reap(dead, deadAfter: force ? -1 : state.deadAfterMilliseconds, spare: dead == name ? token : "")
        case .leave:
            reap(name, deadAfter: -1, spare: "")
        case .started:
            onStarted?(.success(()))
        case .startFailed(let error):
            onStarted?(.failure(error))
        case .ownershipLost:
            onOwnershipLost?()
        case .nameLost(let error):
            onNameLost?(error)
        case .nodeReaped(let dead, let rooms):
            onNodeReaped?(dead, rooms)
        case .nodeGone(let gone):
            onNodeGone?(gone)
        }
    }

    private func claim(name: String, token: String, timeout: Int64) {
        let key = RedisArgument(keys.node(name))
        client.send(["SET", key, RedisArgument(token), "NX", "PX", RedisArgument(timeout)]) { [self] result in
            switch result {
            case .success(.status("OK")):
                perform(state.claimed(.acquired, now: MonotonicClock.nowMilliseconds()))
            case .success:
                client.send(["GET", key]) { [self] held in
                    let outcome: NodeClaimOutcome =
                        switch held {
                        case .success(.bulk(let bytes)): .heldBy(String(decoding: bytes, as: UTF8.self))
                        case .success(let reply): .failed(.unexpectedReply(reply))  // expired meanwhile: claim again
                        case .failure(let error): .failed(error)
                        }
                    perform(state.claimed(outcome, now: MonotonicClock.nowMilliseconds()))
                }
            case .failure(let error):
                perform(state.claimed(.failed(error), now: MonotonicClock.nowMilliseconds()))
            }
        }
    }

    private func reap(_ name: String, deadAfter: Int64, spare: String) {
        client.run(
            ClusterScripts.reap, keys: [],
            arguments: [
                RedisArgument(keys.prefix), RedisArgument(name), RedisArgument(deadAfter), RedisArgument(spare),
            ]
        ) { [self] result in
            let rooms = (try? result.get())?.integer.map(Int.init)
            if rooms == nil { report("reap of \(name)", result) }
            perform(state.reaped(name, rooms: rooms, now: MonotonicClock.nowMilliseconds()))
        }
    }

    private func report(_ what: String, _ result: Result<RedisReply, RedisError>) {
        switch result {
        case .failure(let error): onProblem?("cluster \(what) failed: \(error)")
        case .success(let reply): onProblem?("cluster \(what): unexpected reply \(reply)")
        }
    }

    static func heartbeatOutcome(_ result: Result<RedisReply, RedisError>) -> NodeHeartbeatOutcome {
        switch result {
        case .failure(let error):
            return .failed(error)
        case .success(let reply):
            guard let parts = reply.array, parts.count == 2, let code = parts[0].integer else {
                return .failed(.unexpectedReply(reply))
            }
            switch (code, parts[1]) {
            case (0, let holder): return .heldBy(holder.string ?? "")
            case (1, .integer(let at)): return .renewed(at: at)
            case (2, .integer(let at)): return .restored(at: at)
            default: return .failed(.unexpectedReply(reply))
            }
        }
    }

    static func survey(_ result: Result<RedisReply, RedisError>) -> (Int64, [NodeHeartbeat])? {
        guard let parts = (try? result.get())?.array, let first = parts.first?.string, let now = Int64(first),
            parts.count % 2 == 1
        else { return nil }
        var nodes: [NodeHeartbeat] = []
        for index in stride(from: 1, to: parts.count, by: 2) {
            guard let name = parts[index].string, let text = parts[index + 1].string,
                let score = Int64(text) ?? Double(text).map({ Int64($0) })
            else { return nil }
            nodes.append(NodeHeartbeat(name: name, lastHeartbeatMilliseconds: score))
        }
        return (now, nodes)
    }
}
