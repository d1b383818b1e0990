import HoldfastCore
import HoldfastHistory
import Logging
import Synchronization

/// What every room shares: the chat handler, one history connection per event loop for reads (SQLite connections
/// are used by one thread at a time), the history writer, presence settings, logger and metrics.
final class RoomServices: @unchecked Sendable {
    let handler: any ChatHandler
    let logger: Logger
    let metrics: ServerMetrics
    let presenceRefPrefix: String
    let presenceWindowMilliseconds: Int64
    let historyLimit: Int
    /// The zlib level for payloads compressed once for every member (`SharedDeflate`).
    let deflateLevel: Int
    /// Commits chat messages off the event loops.
    let historyWriter: HistoryWriter
    /// Set by a binary upgrade around its pause: rooms keep accepted messages pending instead of handing them to
    /// the history writer, so the pause need not wait for an fsync; the new process commits them.
    let commitsHeld = Atomic<Bool>(false)
    // One store per loop, indexed by loop index; each is touched only on its loop.
    private let stores: [HistoryStore]

    init(
        handler: any ChatHandler, logger: Logger, metrics: ServerMetrics, stores: [HistoryStore],
        historyWriter: HistoryWriter,
        presenceRefPrefix: String, presenceWindowMilliseconds: Int64, historyLimit: Int,
        deflateLevel: Int
    ) {
        self.deflateLevel = deflateLevel
        self.handler = handler
        self.logger = logger
        self.metrics = metrics
        self.stores = stores
        self.historyWriter = historyWriter
        self.presenceRefPrefix = presenceRefPrefix
        self.presenceWindowMilliseconds = presenceWindowMilliseconds
        self.historyLimit = historyLimit
    }

    /// The history connection of `loop` (call on that loop).
    func history(for loop: EventLoop) -> HistoryStore { stores[loop.index] }
}
