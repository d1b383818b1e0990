import CHoldfast
import Glibc
import HoldfastCore
public import Logging
import Synchronization

/// Makes chat messages durable off the event loops: one thread owns the SQLite write connection and commits
/// every batch queued since its last commit in one transaction (group commit across rooms), then reports each
/// batch's outcome to its room.
///
/// Why a thread: a durable commit waits for `fsync` (milliseconds); on an event loop that wait would stall
/// every connection of the loop and delay the suspension of rooms during an upgrade.
public final class HistoryWriter: Sendable {
    /// One room's batch and what to do once it is durable (or not).
    struct Job: Sendable {
        let messages: [StoredMessage]
        let completion: @Sendable (Bool) -> Void
    }

    private let queue = Mutex<[Job]>([])
    /// Batches submitted whose completion has not run yet.
    private let outstanding = Atomic<Int>(0)
    private let wakeFD: Int32
    private let logger: Logger
    // Touched only by the writer thread.
    private nonisolated(unsafe) let store: HistoryStore

    /// Opens the write connection to the database at `path` (keeping `keepPerRoom` messages per room) and starts
    /// the writer thread.
    /// - Throws: ``HistoryError`` when the database cannot be opened, `SystemError` without an eventfd.
    public init(path: String, keepPerRoom: Int, logger: Logger) throws {
        store = try HistoryStore(path: path, keepPerRoom: keepPerRoom)
        wakeFD = holdfast_eventfd()
        self.logger = logger
        guard wakeFD >= 0 else { throw SystemError("eventfd") }
        startThread { [self] in
            nameThisThread("hf-history")
            run()
        }
    }

    /// Queues `messages` (ids increasing per room) for the next commit; `completion(durable)` runs on the writer
    /// thread once the transaction that holds them has committed or failed.
    public func submit(_ messages: [StoredMessage], completion: @escaping @Sendable (Bool) -> Void) {
        outstanding.add(1, ordering: .relaxed)
        queue.withLock { $0.append(Job(messages: messages, completion: completion)) }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Whether every submitted batch has been committed and reported (a binary upgrade waits for this, so no
    /// message is between "accepted" and "acknowledged" when the rooms are handed over).
    public var isIdle: Bool { outstanding.load(ordering: .acquiring) == 0 }

    /// Batches submitted and not yet committed and reported (the dashboard's history queue).
    public var queuedBatches: Int { outstanding.load(ordering: .relaxed) }

    private func run() {
        while true {
            var poller = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, -1)
            var count: UInt64 = 0
            _ = read(wakeFD, &count, 8)
            let jobs = queue.withLock { jobs -> [Job] in
                defer { jobs.removeAll(keepingCapacity: true) }
                return jobs
            }
            guard !jobs.isEmpty else { continue }
            commit(jobs)
        }
    }

    private func commit(_ jobs: [Job]) {
        do {
            try store.append(jobs.flatMap(\.messages))
            for job in jobs {
                job.completion(true)
                outstanding.subtract(1, ordering: .releasing)
            }
        } catch {
            // One bad batch must not sink the others: retry each on its own.
            guard jobs.count > 1 else {
                logger.error("history commit failed", metadata: ["error": "\(error)"])
                for job in jobs {
                    job.completion(false)
                    outstanding.subtract(1, ordering: .releasing)
                }
                return
            }
            for job in jobs { commit([job]) }
        }
    }
}
