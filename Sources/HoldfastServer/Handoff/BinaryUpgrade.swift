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
/// The steps, on a thread of their own (the loops keep serving until the pause):
/// 1. spawn the new binary with one end of a handoff channel as fd 3, wait for READY;
/// 2. stop accepting (the listening sockets stay open: arriving connections wait in the backlog) and give
///    connections that cannot move yet (TLS handshakes, half-received requests) a grace period;
/// 3. **staging**, still serving: every loop copies its connections, the copies go to the new process with
///    their fds, and it builds and registers them (STAGED);
/// 4. **pause**: the loops stop reading and writing sockets, then run until the process is quiescent (room
///    mailboxes empty, the history writer idle, no task or timer ran on any loop between two barriers); the
///    rooms export their state, each loop exports the connections that changed since staging and then blocks
///    (frozen);
/// 5. send that, wait for DONE, send COMMIT: from here on this process never touches a handed-over socket
///    again (the TLS sequence numbers, among others, now belong to the new process); wait for ACK, answer the
///    caller, exit.
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
