import CoreMetrics
import Prometheus
public import Synchronization

/// The server's metrics: swift-metrics counters backed by a Prometheus registry of the server's own (no global
/// bootstrap, so tests and embedders may run several servers), rendered in Prometheus text format by
/// `GET /metrics`. Gauges are sampled at scrape time. The counters the dashboard charts also keep their totals
/// in atomics, so `GET /admin/stats` reads them without parsing the exposition.
public final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// Phoenix frames received from clients.
    public let messagesIn: CountingMetric
    /// Frames written to clients.
    public let messagesOut: CountingMetric
    /// Broadcast deliveries (one per recipient).
    public let deliveries: CountingMetric
    /// Presence diff deliveries (one per recipient).
    public let presenceDiffs: CountingMetric
    /// Channel joins.
    public let joins: CountingMetric
    /// Frames refused as malformed.
    public let protocolErrors: CountingMetric
    /// Channel-handler calls over their budget.
    public let slowHandlerCalls: CountingMetric
    /// Open TLS client connections.
    public let tlsConnections = Atomic<Int>(0)
    /// Open connections of the admin listener (counted among the open connections too).
    public let adminConnections = Atomic<Int>(0)
    /// Members per room, for the dashboard's top rooms.
    public let roomSizes = RoomSizes()
    private let connectionsOpen: Prometheus.Gauge
    private let connectionsAccepted: Prometheus.Gauge
    private let rooms: Prometheus.Gauge
    private let roomRestarts: Prometheus.Gauge
    /// The labelled counters made so far, by a key of their labels: every connection is counted when accepted and
    /// when closed, and looking a counter up in the registry by its labels costs more than the rest of a count.
    /// Made on first use, so a label set appears in the exposition once it has counted something.
    private let labelledCounters = Mutex<[UInt32: CoreMetrics.Counter]>([:])

    /// A registry of its own with every counter at 0.
    public init() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        self.registry = registry
        self.factory = factory
        func counter(_ label: String) -> CountingMetric {
            CountingMetric(Counter(label: label, factory: factory))
        }
        messagesIn = counter("holdfast_messages_in_total")
        messagesOut = counter("holdfast_messages_out_total")
        deliveries = counter("holdfast_broadcast_deliveries_total")
        presenceDiffs = counter("holdfast_presence_diff_deliveries_total")
        joins = counter("holdfast_channel_joins_total")
        protocolErrors = counter("holdfast_protocol_errors_total")
        slowHandlerCalls = counter("holdfast_handler_slow_calls_total")
        func gauge(_ name: String, _ help: String) -> Prometheus.Gauge {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "holdfast", metricName: name, unitName: "", helpText: help))
        }
        connectionsOpen = gauge("connections_open", "Open client connections.")
        connectionsAccepted = gauge("connections_accepted_total", "Client connections accepted since start.")
        rooms = gauge("rooms", "Rooms started.")
        roomRestarts = gauge("room_restarts_total", "Room actors restarted after a failure.")
    }

    /// Counts a WebSocket close by code and by who started it (protocol errors by kind show up as their codes).
    public func recordClose(code: UInt16, byPeer: Bool) {
        labelledCounter(key: UInt32(code) << 1 | (byPeer ? 1 : 0)) {
            Counter(
                label: "holdfast_websocket_closes_total",
                dimensions: [("code", String(code)), ("initiator", byPeer ? "client" : "server")], factory: factory)
        }.increment()
    }

    /// Counts a connection by transport when it is accepted (a TLS or admin one is open from here on).
    public func recordAccepted(tls: Bool, admin: Bool = false) {
        // Above the close keys, which are at most 2^17.
        labelledCounter(key: tls ? 1 << 20 : 1 << 21) {
            Counter(
                label: "holdfast_connections_total", dimensions: [("transport", tls ? "tls" : "plain")],
                factory: factory)
        }.increment()
        if tls { tlsConnections.add(1, ordering: .relaxed) }
        if admin { adminConnections.add(1, ordering: .relaxed) }
    }

    /// The labelled counter under `key`, made by `make` the first time.
    private func labelledCounter(key: UInt32, make: () -> CoreMetrics.Counter) -> CoreMetrics.Counter {
        labelledCounters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = make()
            counters[key] = counter
            return counter
        }
    }

    /// Counts a connection that was not accepted here (a binary upgrade's, `delta` 1) or is closed (-1) by kind.
    public func recordOpen(_ delta: Int, tls: Bool, admin: Bool) {
        if tls { tlsConnections.add(delta, ordering: .relaxed) }
        if admin { adminConnections.add(delta, ordering: .relaxed) }
    }

    /// The Prometheus text exposition, with the gauges set to the values sampled now.
    public func render(openConnections: Int, acceptedConnections: Int, rooms roomCount: Int, roomRestarts restarts: Int)
        -> [UInt8]
    {
        connectionsOpen.set(Int64(openConnections))
        connectionsAccepted.set(Int64(acceptedConnections))
        rooms.set(Int64(roomCount))
        roomRestarts.set(Int64(restarts))
        return registry.emitToBuffer()
    }
}

/// A swift-metrics counter that also keeps its total where the dashboard can read it.
public final class CountingMetric: Sendable {
    private let counter: CoreMetrics.Counter
    private let count = Atomic<Int>(0)

    init(_ counter: CoreMetrics.Counter) { self.counter = counter }

    /// Adds `amount` (a count of deliveries, frames...).
    public func add(_ amount: Int = 1) {
        counter.increment(by: amount)
        count.add(amount, ordering: .relaxed)
    }

    /// The total since the process started.
    public var total: Int { count.load(ordering: .relaxed) }
}

/// Members per room as their rooms last reported them; a room reports only when its count changed, so the lock is
/// taken on joins and leaves, never per message.
public final class RoomSizes: Sendable {
    private let sizes = Mutex<[String: Int]>([:])

    /// Records that `topic` has `members` members (0 forgets it).
    public func report(topic: String, members: Int) {
        sizes.withLock { $0[topic] = members > 0 ? members : nil }
    }

    /// The `limit` largest rooms, largest first (ties by topic).
    public func top(_ limit: Int) -> [(topic: String, members: Int)] {
        let all = sizes.withLock { $0 }
        return all.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit).map {
            (topic: $0.key, members: $0.value)
        }
    }
}
