import Glibc
import HoldfastCore
import HoldfastHandlerAPI
import HoldfastHandoff
import HoldfastJSON
import HoldfastRooms
import HoldfastUpgrade
import Logging
import Synchronization

/// Whole-binary upgrade, the old process's side: start the new binary, hand it every listening socket, every
/// connection and all state, and exit once it serves; or, on any failure before the commit, kill it and carry
/// on as if nothing happened.
///
/// The steps run on a thread of their own, the loops serving until the pause (docs/upgrades.md, "What happens, in
/// order"): READY from the new binary; stop accepting; **staging** and catch-up rounds while serving; the **pause**
/// (the loops stop socket I/O and settle, the rooms and the changed connections are exported, the loops freeze);
/// the final stream, DONE, COMMIT (this process never touches a handed-over socket again), ACK, exit.
///
/// Any failure before COMMIT (missing binary, no READY or DONE in time, the new process reporting an error)
/// kills the new process, waits until it is gone, and resumes the loops: clients notice nothing but the pause.
/// ``HandoverMachine`` decides the order and what to undo; ``HandoffAttempt`` performs it.
final class BinaryUpgrade: BinaryUpgrading {
    /// The path this process was started as (SIGUSR2's default target).
    let startupExecutable: String
    private let runtime = Mutex<HandoffRuntime?>(nil)

    init() {
        startupExecutable = ProcessEnvironment.startupExecutable()
    }

    /// Called by the server once its loops, listeners and connection lists exist.
    func attach(_ runtime: HandoffRuntime) {
        self.runtime.withLock { $0 = runtime }
    }

    /// Starts an upgrade to the binary at `path`. `completion` runs once on the upgrade's thread: on success
    /// with every loop frozen and just before this process exits (so it must answer `requesterFD` by writing
    /// to it directly), on failure after the loops resumed. `requesterFD` (the admin request's connection) is
    /// not handed over.
    func upgrade(
        to path: String, requesterFD: Int32?,
        completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) {
        guard let runtime = runtime.withLock({ $0 }) else {
            completion(.failure(UpgradeFailure(HandoffFailure.notStarted)))
            return
        }
        guard runtime.context.upgrades.claim() else {
            completion(.failure(UpgradeFailure(HandoffFailure.upgradeInProgress)))
            return
        }
        startThread {
            let attempt = HandoffAttempt(runtime: runtime, path: path, requesterFD: requesterFD)
            attempt.run(completion: completion)
        }
    }
}

extension UpgradeFailure {
    /// A binary upgrade's failure as the admin interface answers it: same status, check and reason.
    init(_ failure: HandoffFailure) {
        self.init(status: failure.status, check: failure.code, reason: failure.reason)
    }
}
