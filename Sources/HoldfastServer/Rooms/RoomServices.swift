import Glibc
import HoldfastCore
import HoldfastHistory
import HoldfastRooms
import Logging
import Synchronization

/// What every room shares: the room rules, the chat handler, one history connection per event loop for reads
/// (SQLite connections are used by one thread at a time), the history writer, the clock, logger and metrics.
final class RoomServices: @unchecked Sendable {
    let configuration: RoomConfiguration
    let handler: any ChatHandler
    let logger: Logger
    let metrics: ServerMetrics
    /// The zlib level for payloads compressed once for every member (`SharedDeflate`).
    let deflateLevel: Int
    /// Commits chat messages off the event loops.
    let historyWriter: HistoryWriter
    /// The time rooms handle their events at; injected so a test can drive time.
    let clock: @Sendable () -> RoomInstant
    /// Set by a binary upgrade around its pause: rooms keep accepted messages pending instead of handing them to
    /// the history writer, so the pause need not wait for an fsync; the new process commits them.
    let commitsHeld = Atomic<Bool>(false)
    // One store per loop, indexed by loop index; each is touched only on its loop.
    private let stores: [HistoryStore]

    init(
        configuration: RoomConfiguration, handler: any ChatHandler, logger: Logger, metrics: ServerMetrics,
        stores: [HistoryStore], historyWriter: HistoryWriter, deflateLevel: Int,
        clock: @escaping @Sendable () -> RoomInstant = RoomServices.systemClock
    ) {
        self.configuration = configuration
        self.deflateLevel = deflateLevel
        self.handler = handler
        self.logger = logger
        self.metrics = metrics
        self.stores = stores
        self.historyWriter = historyWriter
        self.clock = clock
    }

    /// The history connection of `loop` (call on that loop).
    func history(for loop: EventLoop) -> HistoryStore { stores[loop.index] }

    /// The monotonic clock for timers, the realtime clock for timestamps.
    @Sendable static func systemClock() -> RoomInstant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let wall = Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
        return RoomInstant(monotonic: MonotonicClock.nowMilliseconds(), wall: wall)
    }
}
