import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastJSON
import HoldfastUpgrade
import Logging
import Synchronization

/// Swaps the chat handler code in the running process: load and check the plugin, suspend every room between
/// two messages (their mailboxes keep queuing, nothing is dropped), migrate the handler state into the new
/// code, publish it, resume. All or nothing: a failing load, check or migration leaves the old code serving
/// with its old state, and the caller learns which check failed.
final class HandlerUpgrades: Sendable {
    let registry: PluginRegistry
    private let rooms: RoomRegistry
    private let logger: Logger
    private let last = Mutex<UpgradeRecord?>(nil)
    private let running = Atomic<Bool>(false)
    /// The step that migrates and publishes, run while every room is suspended.
    typealias Swap = @Sendable () throws(PluginUpgradeError) -> MigratedHandler

    init(registry: PluginRegistry, rooms: RoomRegistry, logger: Logger) {
        self.registry = registry
        self.rooms = rooms
        self.logger = logger
    }

    /// Takes the one upgrade slot for a binary upgrade (handler swaps and binary upgrades exclude each other);
    /// false when another upgrade runs.
    func claim() -> Bool { !running.exchange(true, ordering: .acquiring) }

    /// Gives the slot back after a binary upgrade rolled back.
    func release() { running.store(false, ordering: .releasing) }

    /// Records the outcome of a binary upgrade for `/admin/status`.
    func record(_ record: UpgradeRecord) { last.withLock { $0 = record } }

    /// The outcome of the last upgrade or rollback, for `/admin/status`.
    var lastRecord: UpgradeRecord? { last.withLock { $0 } }

    /// Upgrades to the plugin at `path`; `completion` runs once, on a loop thread. `holdMilliseconds` (test
    /// hook only) keeps the rooms suspended that long before the swap, to exercise concurrent requests.
    func upgrade(
        path: String, holdMilliseconds: Int64 = 0,
        completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) {
        run(kind: "upgrade", holdMilliseconds: holdMilliseconds, completion: completion) { [registry] () throws(PluginUpgradeError) -> Swap in
            // Load and check before anything is suspended: a bad plugin costs the rooms nothing.
            let plugin = try registry.load(path: path)
            return { @Sendable () throws(PluginUpgradeError) -> MigratedHandler in try registry.upgrade(to: plugin) }
        }
    }

    /// Returns to the previous handler version the same way.
    func rollback(completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void) {
        run(kind: "rollback", completion: completion) { [registry] () throws(PluginUpgradeError) -> Swap in
            guard registry.previous != nil else { throw .noPreviousVersion }
            return { @Sendable () throws(PluginUpgradeError) -> MigratedHandler in try registry.rollback() }
        }
    }

    private func run(
        kind: String,
        holdMilliseconds: Int64 = 0,
        completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void,
        prepare: () throws(PluginUpgradeError) -> Swap
    ) {
        guard !running.exchange(true, ordering: .acquiring) else {
            completion(.failure(UpgradeFailure(status: 409, check: "upgrade_in_progress",
                reason: "another upgrade or rollback is running: retry when it has finished")))
            return
        }
        let swap: Swap
        do throws(PluginUpgradeError) {
            swap = try prepare()
        } catch {
            finish(kind: kind, .failure(UpgradeFailure(error)), completion: completion)
            return
        }
        let started = MonotonicClock.nowNanoseconds()
        let targets = rooms.allRooms
        let remaining = Atomic<Int>(targets.count)
        let proceed: @Sendable () -> Void = { [self] in
            let suspended = MonotonicClock.nowNanoseconds()
            let result: Result<MigratedHandler, PluginUpgradeError>
            do throws(PluginUpgradeError) { result = .success(try swap()) } catch { result = .failure(error) }
            for room in targets { room.resume() }
            let resumed = MonotonicClock.nowNanoseconds()
            switch result {
            case .success(let migrated):
                let record = UpgradeRecord(
                    kind: kind, outcome: "ok", from: migrated.fromVersion, to: migrated.toVersion,
                    pauseMilliseconds: Double(resumed - started) / 1e6,
                    suspendMilliseconds: Double(suspended - started) / 1e6,
                    migrateMilliseconds: Double(resumed - suspended) / 1e6, rooms: targets.count, error: nil)
                finish(kind: kind, .success(record), completion: completion)
            case .failure(let error):
                finish(kind: kind, .failure(UpgradeFailure(error)), completion: completion)
            }
        }
        guard !targets.isEmpty else {
            proceed()
            return
        }
        for room in targets {
            room.suspend {
                guard remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 else { return }
                if holdMilliseconds > 0 {
                    room.loop.schedule(afterMilliseconds: holdMilliseconds) { proceed() }
                } else {
                    proceed()
                }
            }
        }
    }

    private func finish(
        kind: String, _ result: Result<UpgradeRecord, UpgradeFailure>,
        completion: @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) {
        switch result {
        case .success(let record):
            logger.notice("handler \(kind) done", metadata: [
                "from": "\(record.from)", "to": "\(record.to)", "pause-ms": "\(record.pauseMilliseconds)",
                "rooms": "\(record.rooms)",
            ])
            last.withLock { $0 = record }
        case .failure(let failure):
            logger.warning("handler \(kind) refused, nothing changed", metadata: ["check": "\(failure.check)", "reason": "\(failure.reason)"])
            if failure.check != "upgrade_in_progress" {
                last.withLock {
                    $0 = UpgradeRecord(kind: kind, outcome: "refused", from: registry.current?.version ?? "", to: "",
                        pauseMilliseconds: 0, suspendMilliseconds: 0, migrateMilliseconds: 0, rooms: 0,
                        error: "\(failure.check): \(failure.reason)")
                }
            }
        }
        running.store(false, ordering: .releasing)
        completion(result)
    }
}

/// What an upgrade or rollback did, reported by the admin endpoints.
struct UpgradeRecord: Sendable {
    let kind: String
    let outcome: String
    let from: String
    let to: String
    /// From the request to resuming the rooms: how long rooms held their messages.
    let pauseMilliseconds: Double
    let suspendMilliseconds: Double
    let migrateMilliseconds: Double
    let rooms: Int
    let error: String?
    /// Fields particular to the kind of upgrade (a binary upgrade's pids, counts and step timings).
    var extra: [JSONMember] = []

    var json: JSONValue {
        var members = [
            JSONMember("kind", .string(kind)), JSONMember("outcome", .string(outcome)),
            JSONMember("from", .string(from)), JSONMember("to", .string(to)),
            JSONMember("pause_ms", .double(pauseMilliseconds)), JSONMember("suspend_ms", .double(suspendMilliseconds)),
            JSONMember("migrate_ms", .double(migrateMilliseconds)), JSONMember("rooms", .integer(Int64(rooms))),
        ]
        if let error { members.append(JSONMember("error", .string(error))) }
        members += extra
        return .object(members)
    }
}

/// Why an upgrade was refused: the HTTP status, the check that failed, and what to do.
struct UpgradeFailure: Error, Sendable {
    let status: Int
    let check: String
    let reason: String

    init(status: Int, check: String, reason: String) {
        self.status = status
        self.check = check
        self.reason = reason
    }

    init(_ error: PluginUpgradeError) {
        let status = switch error {
        case .upgradeInProgress: 409
        case .notStarted: 503
        default: 422
        }
        self.init(status: status, check: error.check, reason: error.description)
    }
}
