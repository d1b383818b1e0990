public import HoldfastConfig
public import HoldfastCore
public import HoldfastHistory
public import HoldfastRooms
public import Logging

/// Where a server's rooms keep and number their messages, chosen from the configuration: SQLite on a single node
/// (one history connection per event loop for reads, one writer thread for commits, ids from the room), or, when
/// `cluster.redis_url` is set, the cluster's Redis (``ClusterBus``: ids, history and delivery from Redis; the
/// SQLite file is opened but neither read nor written).
public struct RoomStorage {
    /// The rules every room follows (``RoomConfiguration/sequencedByStore`` when clustered).
    public let roomConfiguration: RoomConfiguration
    /// One SQLite history connection per loop, by loop index.
    public let stores: [HistoryStore]
    public let writer: HistoryWriter
    /// The cluster's bus; nil on a single node.
    public let cluster: ClusterBus?

    /// Opens the history (and the Redis links, started on the loops once they run). `presenceRefPrefix`: this
    /// process's prefix of phx_refs.
    public init(
        configuration: Configuration, loops: [EventLoop], presenceRefPrefix: String, logger: Logger
    ) throws {
        let path = configuration.server.stateDirectory + "/history.sqlite3"
        let keep = configuration.channels.historyPerRoom
        stores = try loops.map { _ in try HistoryStore(path: path, keepPerRoom: keep) }
        writer = try HistoryWriter(path: path, keepPerRoom: keep, logger: logger)
        cluster = try ClusterBus(configuration: configuration, loops: loops, logger: logger)
        roomConfiguration = RoomConfiguration(
            presenceRefPrefix: presenceRefPrefix,
            presenceWindowMilliseconds: configuration.channels.presenceWindowMilliseconds,
            historyLimit: configuration.channels.historyPerRoom, sequencedByStore: cluster != nil,
            presenceStateChunksFrom: configuration.channels.presenceStateChunksFrom,
            durableBatches: DurableBatchJoining(rawValue: configuration.channels.joinDurableBatches) ?? .off,
            batchCountsEvery: configuration.channels.batchCountsEvery)
        cluster?.start()
    }
}
