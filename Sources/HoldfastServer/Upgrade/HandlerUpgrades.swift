import Glibc
import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastHandlerAPI
import HoldfastJSON
import HoldfastUpgrade
import Logging
import Synchronization

/// Swaps the chat handler code in the running process: check the plugin file, rehearse the swap in a child
/// process on the current state (``PluginValidator``: a plugin that traps, exits or hangs is refused before any of
/// its code runs here), load it, suspend every room between two messages (their mailboxes keep queuing, nothing is
/// dropped), migrate the handler state into the new code, publish it, resume. All or nothing: a failing check,
/// rehearsal or migration, or a swap past its deadline, leaves the old code serving with its old state, and the
/// caller learns which check failed.
///
/// Thread use: the request's loop only starts the work; the rehearsal and the swap run on a thread of their own
/// (the rehearsal takes tens of milliseconds, up to its deadline), and the swap's plugin calls on another one, so
/// that a swap hanging in plugin code can be abandoned.
final class HandlerUpgrades: Sendable {
    let registry: PluginRegistry
    private let rooms: RoomRegistry
    private let logger: Logger
    /// Rehearses every swap in a child process first; nil runs swaps without (tests of the swap alone).
    private let validator: PluginValidator?
    private let swapTimeoutMilliseconds: Int
    private let log = Mutex<[UpgradeRecord]>([])
    private let running = Atomic<Bool>(false)
    /// The step that migrates and publishes (unless its gate was abandoned), run while every room is suspended.
    typealias Swap = @Sendable (CommitGate) throws(PluginUpgradeError) -> MigratedHandler

    /// What preparing a swap produced: the swap, and how long its rehearsal took (nil: not rehearsed).
    struct Prepared {
        let swap: Swap
        let rehearsalMilliseconds: Double?
    }

    init(
        registry: PluginRegistry, rooms: RoomRegistry, logger: Logger, validator: PluginValidator?,
        swapTimeoutMilliseconds: Int
    ) {
        self.registry = registry
        self.rooms = rooms
        self.logger = logger
        self.validator = validator
        self.swapTimeoutMilliseconds = swapTimeoutMilliseconds
    }

    /// Takes the one upgrade slot for a binary upgrade (handler swaps and binary upgrades exclude each other);
    /// false when another upgrade runs.
    func claim() -> Bool { !running.exchange(true, ordering: .acquiring) }

    /// Gives the slot back after a binary upgrade rolled back.
    func release() { running.store(false, ordering: .releasing) }

    /// Records the outcome of a binary upgrade for `/admin/status`.
    func record(_ record: UpgradeRecord) { log.withLock { $0 = Array(($0 + [record]).suffix(100)) } }

    /// The outcomes of the last 100 upgrades and rollbacks, oldest first, for `/admin/status` and the dashboard.
    var records: [UpgradeRecord] { log.withLock { $0 } }

    /// Upgrades to the plugin at `path`; `completion` runs once, on another thread. `holdMilliseconds` (test
    /// hook only) keeps the rooms suspended that long before the swap, to exercise concurrent requests.
    func upgrade(
        path: String, holdMilliseconds: Int64 = 0,
        completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) {
        run(kind: "upgrade", holdMilliseconds: holdMilliseconds, completion: completion) {
            [self, registry] () throws(PluginUpgradeError) -> Prepared in
            do throws(PluginLoadError) { try PluginLoader.checkFile(path) } catch { throw .load(error) }
            let rehearsed = try self.rehearse(.upgrade, target: path)
            // Only now does code of the plugin run in this process.
            let plugin = try registry.load(path: path)
            return Prepared(
                swap: { gate throws(PluginUpgradeError) in try registry.upgrade(to: plugin, gate: gate) },
                rehearsalMilliseconds: rehearsed)
        }
    }

    /// Returns to the previous handler version the same way.
    func rollback(completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void) {
        run(kind: "rollback", completion: completion) { [self, registry] () throws(PluginUpgradeError) -> Prepared in
            guard let previous = registry.previous else { throw .noPreviousVersion }
            let rehearsed = try self.rehearse(.rollback, target: previous.path)
            return Prepared(
                swap: { gate throws(PluginUpgradeError) in try registry.rollback(gate: gate) },
                rehearsalMilliseconds: rehearsed)
        }
    }

    /// Rehearses a swap to `target` on the current handler's state, exported now while the rooms keep running
    /// (handlers are called from several loops at once, so an export alongside room calls is within their
    /// contract). Returns how long it took, or nil without a validator.
    private func rehearse(_ kind: SwapRehearsal.Kind, target: String) throws(PluginUpgradeError) -> Double? {
        guard let validator else { return nil }
        let (handler, current, _) = registry.snapshot
        guard let handler, let current else { throw .notStarted }
        let rehearsal = SwapRehearsal(
            kind: kind, targetPath: target, currentPath: current.path, currentVersion: handler.version,
            state: handler.exportState(), configPath: registry.configPath)
        do throws(PluginValidationError) {
            let validation = try validator.validate(rehearsal)
            logger.info(
                "handler swap rehearsed in a child process",
                metadata: [
                    "target": "\(target)", "ms": "\(validation.elapsedMilliseconds)",
                    "steps-us":
                        "\(validation.summary.stepMicroseconds.map { "\($0.step.rawValue)=\($0.microseconds)" })",
                ])
            return validation.elapsedMilliseconds
        } catch {
            throw .validation(error)
        }
    }

    private func run(
        kind: String,
        holdMilliseconds: Int64 = 0,
        completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void,
        prepare: @escaping @Sendable () throws(PluginUpgradeError) -> Prepared
    ) {
        guard !running.exchange(true, ordering: .acquiring) else {
            completion(.failure(UpgradeFailure(PluginUpgradeError.upgradeInProgress)))
            return
        }
        guard !registry.isBusy else {
            finish(
                kind: kind, .failure(UpgradeFailure(PluginUpgradeError.abandonedSwapStillRunning)),
                completion: completion)
            return
        }
        startThread { [self] in
            let prepared: Prepared
            do throws(PluginUpgradeError) {
                prepared = try prepare()
            } catch {
                finish(kind: kind, .failure(UpgradeFailure(error)), completion: completion)
                return
            }
            let started = MonotonicClock.nowNanoseconds()
            let targets = rooms.allRooms
            let allSuspended = ThreadSemaphore()
            let remaining = Atomic<Int>(targets.count)
            for room in targets {
                room.suspend {
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { allSuspended.signal() }
                }
            }
            if !targets.isEmpty { allSuspended.wait() }
            if holdMilliseconds > 0 { usleep(UInt32(clamping: holdMilliseconds * 1_000)) }
            let suspended = MonotonicClock.nowNanoseconds()
            let result = CommitGate.run(prepared.swap, deadlineMilliseconds: swapTimeoutMilliseconds) {
                logger.error("handler swap abandoned at its deadline; a thread stays in the plugin's code",
                    metadata: ["timeout-ms": "\(swapTimeoutMilliseconds)"])
            }
            for room in targets { room.resume() }
            let resumed = MonotonicClock.nowNanoseconds()
            switch result {
            case .success(let migrated):
                var record = UpgradeRecord(
                    kind: kind, outcome: "ok", from: migrated.fromVersion, to: migrated.toVersion,
                    pauseMilliseconds: Double(resumed - started) / 1e6,
                    suspendMilliseconds: Double(suspended - started) / 1e6,
                    migrateMilliseconds: Double(resumed - suspended) / 1e6, rooms: targets.count, error: nil)
                if let rehearsal = prepared.rehearsalMilliseconds {
                    record.extra.append(JSONMember("rehearsal_ms", .double(rehearsal)))
                }
                finish(kind: kind, .success(record), completion: completion)
            case .failure(let error):
                finish(kind: kind, .failure(UpgradeFailure(error)), completion: completion)
            }
        }
    }

    private func finish(
        kind: String, _ result: Result<UpgradeRecord, UpgradeFailure>,
        completion: @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) {
        switch result {
        case .success(let record):
            logger.notice(
                "handler \(kind) done",
                metadata: [
                    "from": "\(record.from)", "to": "\(record.to)", "pause-ms": "\(record.pauseMilliseconds)",
                    "rooms": "\(record.rooms)",
                ])
            self.record(record)
        case .failure(let failure):
            logger.warning("handler \(kind) refused, nothing changed",
                metadata: ["check": "\(failure.check)", "reason": "\(failure.reason)"])
            if failure.check != "upgrade_in_progress" {
                self.record(
                    UpgradeRecord(
                        kind: kind, outcome: "refused", from: registry.current?.version ?? "", to: "",
                        pauseMilliseconds: 0, suspendMilliseconds: 0, migrateMilliseconds: 0, rooms: 0,
                        error: "\(failure.check): \(failure.reason)"))
            }
        }
        running.store(false, ordering: .releasing)
        completion(result)
    }
}
