/// The node's place in the cluster as a state machine: claim the name, heartbeat, survey the other nodes, reap
/// the dead ones. Pure: each event returns ``NodeRegistryAction``s, times are passed in (`now`: the caller's
/// monotonic milliseconds; `redisNow` and heartbeats: Redis's clock, the one clock every node shares).
///
/// Timing (`T` = `node_timeout_ms`): a tick every `T/5` sends a heartbeat and a survey; a node whose last beat is
/// older than `3T/5` (three missed beats) is dead. From a node's last beat to its leave diff: at most
/// `3T/5 + T/5` plus a round trip, inside `T`.
public struct NodeRegistryState: Sendable {
    /// Where the node stands.
    public enum Phase: Sendable, Equatable {
        /// Not started.
        case idle
        /// Claiming the name (retried each tick until `T + T/5` after start, so a crashed holder's key expires).
        case claiming
        /// The name is ours; clearing what an earlier process of the name left behind.
        case clearing
        /// Heartbeating and surveying.
        case running
        /// Stopped by its owner.
        case stopped
        /// The name is held by another process.
        case failed
    }

    /// This process's name and token.
    public let record: NodeRecord
    /// `node_timeout_ms`.
    public let timeoutMilliseconds: Int64
    /// Whether the record came from a binary upgrade (the name is already ours: nothing to clear).
    public let imported: Bool
    /// The current phase.
    public private(set) var phase: Phase = .idle
    /// The live nodes at the last survey, this one included, by name.
    public private(set) var liveNodes: [NodeHeartbeat] = []

    var claimDeadline: Int64 = 0
    var claimInFlight = false
    var heartbeatInFlight = false
    var surveyInFlight = false
    /// Set between ``NodeRegistryAction/ownershipLost`` and ``entriesRewritten()``.
    var rewriting = false
    var reaping: Set<String> = []
    /// Nodes seen live, with the time (`now`) of the last survey that listed them.
    var lastSeen: [String: Int64] = [:]
    /// During a binary upgrade: how much later each beat counts (``beginHandoff(graceMilliseconds:)``).
    public private(set) var handoffGraceMilliseconds: Int64 = 0

    /// A registry for `record`.
    public init(record: NodeRecord, timeoutMilliseconds: Int64, imported: Bool = false) {
        self.record = record
        self.timeoutMilliseconds = timeoutMilliseconds
        self.imported = imported
    }

    /// `T/5`: heartbeats and surveys.
    public var tickMilliseconds: Int64 { max(1, timeoutMilliseconds / 5) }

    /// `3T/5`: a node whose last beat is older is dead.
    public var deadAfterMilliseconds: Int64 { timeoutMilliseconds * 3 / 5 }

    /// Starts claiming the name.
    public mutating func start(now: Int64) -> [NodeRegistryAction] {
        guard phase == .idle else { return [] }
        phase = .claiming
        claimDeadline = now + timeoutMilliseconds + tickMilliseconds
        claimInFlight = true
        return [.claim]
    }

    /// The timer fired (every ``tickMilliseconds``).
    public mutating func tick(now: Int64) -> [NodeRegistryAction] {
        switch phase {
        case .idle, .clearing, .stopped, .failed:
            return []
        case .claiming:
            guard !claimInFlight else { return [] }
            claimInFlight = true
            return [.claim]
        case .running:
            var actions: [NodeRegistryAction] = []
            if !heartbeatInFlight {
                heartbeatInFlight = true
                actions.append(.heartbeat(announce: !rewriting))
            }
            if !surveyInFlight {
                surveyInFlight = true
                actions.append(.survey)
            }
            return actions
        }
    }

    /// The claim answered.
    public mutating func claimed(_ outcome: NodeClaimOutcome, now: Int64) -> [NodeRegistryAction] {
        claimInFlight = false
        guard phase == .claiming else { return [] }
        switch outcome {
        case .heldBy(record.token):
            // Our own token (an upgrade): Redis already sees this node; clearing would make its members flap.
            return becomeRunning()
        case .acquired where imported:
            // An upgrade whose token was gone (reaped, or expired, while the processes handed over): the entries
            // it carried may be gone too, so the rooms rewrite them, as after a stall.
            rewriting = true
            phase = .running
            heartbeatInFlight = true
            return [.started, .ownershipLost, .heartbeat(announce: false)]
        case .acquired:
            phase = .clearing
            return [.reap(record.name, force: true)]
        case .heldBy(let holder):
            guard now >= claimDeadline else { return [] }
            phase = .failed
            return [.startFailed(.nameTaken(name: record.name, holder: holder))]
        case .failed:
            return []  // Redis is not there yet: the next tick claims again
        }
    }

    /// A heartbeat answered.
    public mutating func heartbeatReplied(_ outcome: NodeHeartbeatOutcome, now: Int64) -> [NodeRegistryAction] {
        heartbeatInFlight = false
        guard phase == .running else { return [] }
        switch outcome {
        case .renewed, .failed:
            return []
        case .restored:
            guard !rewriting else { return [] }
            rewriting = true
            return [.ownershipLost]
        case .heldBy(let holder):
            phase = .failed
            return [.nameLost(.nameTaken(name: record.name, holder: holder))]
        }
    }

    /// A binary upgrade starts: from now on every beat counts as `graceMilliseconds` later (and the key lives that
    /// much longer), so the node stays live through the pause, in which this process's loops are frozen, and the
    /// new process's start (its first Redis login and claim) until the new process beats; a beat goes out at once.
    /// A real death of the node during the upgrade is found that much later.
    public mutating func beginHandoff(graceMilliseconds: Int64) -> [NodeRegistryAction] {
        handoffGraceMilliseconds = max(0, graceMilliseconds)
        guard phase == .running, !heartbeatInFlight else { return [] }
        heartbeatInFlight = true
        return [.heartbeat(announce: !rewriting)]
    }

    /// The upgrade was rolled back: beats count as sent again from the next tick.
    public mutating func endHandoff() { handoffGraceMilliseconds = 0 }

    /// Every room rewrote its entries after ``NodeRegistryAction/ownershipLost``: the next heartbeat announces the
    /// node in `hf:nodes` again.
    public mutating func entriesRewritten() { rewriting = false }

    /// A survey answered: `nodes` is all of `hf:nodes`, `redisNow` Redis's clock when it was read.
    public mutating func surveyed(redisNow: Int64, nodes: [NodeHeartbeat], now: Int64) -> [NodeRegistryAction] {
        surveyInFlight = false
        guard phase == .running else { return [] }
        var actions: [NodeRegistryAction] = []
        let threshold = redisNow - deadAfterMilliseconds
        // A beat under a handoff grace lies ahead of Redis's clock: shown as now.
        liveNodes = nodes.filter { $0.lastHeartbeatMilliseconds >= threshold }.sorted { $0.name < $1.name }.map {
            NodeHeartbeat(name: $0.name, lastHeartbeatMilliseconds: min($0.lastHeartbeatMilliseconds, redisNow))
        }
        for node in liveNodes { lastSeen[node.name] = now }
        for node in nodes where node.lastHeartbeatMilliseconds < threshold && node.name != record.name {
            // Dead: the reap (ours or another node's) publishes its leaves; no need to watch it vanish.
            lastSeen[node.name] = nil
            if reaping.insert(node.name).inserted { actions.append(.lockReap(node.name)) }
        }
        let listed = Set(nodes.map(\.name))
        for (name, seen) in lastSeen
        where name != record.name && !listed.contains(name) && now - seen > timeoutMilliseconds {
            lastSeen[name] = nil
            actions.append(.nodeGone(name))
        }
        return actions
    }

    /// A survey failed (Redis away): the next tick surveys again; the live list stays as it was.
    public mutating func surveyFailed() { surveyInFlight = false }

    /// The reap lock answered.
    public mutating func reapLockReplied(_ name: String, won: Bool, now: Int64) -> [NodeRegistryAction] {
        guard won, phase == .running else {
            reaping.remove(name)
            return []
        }
        return [.reap(name, force: false)]
    }

    /// A reap answered: the number of rooms that got a leave diff (-1: the node beat again first), nil if it
    /// failed.
    public mutating func reaped(_ name: String, rooms: Int?, now: Int64) -> [NodeRegistryAction] {
        reaping.remove(name)
        if name == record.name, phase == .clearing { return becomeRunning() }
        guard let rooms, rooms >= 0 else { return [] }
        return [.nodeReaped(name: name, rooms: rooms)]
    }

    /// Stops heartbeating. `leave`: a graceful stop, the node's entries leave and its name is released; without
    /// it (a binary upgrade: the new process continues) Redis keeps everything.
    public mutating func stop(leave: Bool) -> [NodeRegistryAction] {
        let wasRunning = phase == .running
        phase = .stopped
        return leave && wasRunning ? [.leave] : []
    }

    private mutating func becomeRunning() -> [NodeRegistryAction] {
        phase = .running
        heartbeatInFlight = true
        return [.started, .heartbeat(announce: true)]
    }
}
