import HoldfastCluster
import HoldfastConfig
import HoldfastCore
import HoldfastHistory
import HoldfastRooms
import HoldfastWeb
import HoldfastWebhooks
import Logging
import Synchronization

/// What every room shares: the room rules, the chat handler, one history connection per event loop for reads
/// (SQLite connections are used by one thread at a time), the history writer, the clock, logger and metrics.
final class RoomServices: @unchecked Sendable {
    let configuration: RoomConfiguration
    let handler: any RoomChannel
    let logger: Logger
    let metrics: ServerMetrics
    /// The zlib level for payloads compressed once for every member (`SharedDeflate`).
    let deflateLevel: Int
    /// Commits chat messages off the event loops.
    let historyWriter: HistoryWriter
    /// The server's clock: rooms handle their events at its time (a test can move it by hand).
    let clock: ServerClock
    /// Set by a binary upgrade around its pause: rooms keep accepted messages pending instead of handing them to
    /// the history writer, so the pause need not wait for an fsync; the new process commits them.
    let commitsHeld = Atomic<Bool>(false)
    /// Where membership changes and stored messages go as webhook events (nil when no webhook is configured).
    let webhooks: WebhookDispatcher?
    /// The cluster's bus when `cluster.redis_url` is set: rooms store, sequence and read history through Redis.
    let cluster: ClusterBus?
    // One store per loop, indexed by loop index; each is touched only on its loop.
    private let stores: [HistoryStore]

    init(
        storage: RoomStorage, handler: any RoomChannel, logger: Logger, metrics: ServerMetrics, deflateLevel: Int,
        clock: ServerClock, webhooks: WebhookDispatcher?
    ) {
        (self.webhooks, self.cluster, self.configuration) = (webhooks, storage.cluster, storage.roomConfiguration)
        self.deflateLevel = deflateLevel
        self.handler = handler
        self.logger = logger
        self.metrics = metrics
        (self.stores, self.historyWriter) = (storage.stores, storage.writer)
        self.clock = clock
    }

    /// The history connection of `loop` (call on that loop).
    func history(for loop: EventLoop) -> HistoryStore { stores[loop.index] }

    /// The time a room handles an event at: the monotonic clock for its timers, the wall clock for timestamps.
    func now() -> RoomInstant {
        RoomInstant(monotonic: clock.nowMilliseconds(), wall: clock.wallMilliseconds())
    }
}
