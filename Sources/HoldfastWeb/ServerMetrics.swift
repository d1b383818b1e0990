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
    /// Connections accepted by transport and WebSocket closes by code and initiator: every connection counts once
    /// in each, so these are plain counts (an atomic add for an accept, an array slot under a lock for a close;
    /// a labelled counter's lookup under a lock took about 240 instructions), added to their labelled counters when
    /// the exposition is rendered, so every scrape reports the same totals as counting each event at once would.
    private let acceptedPlain = Atomic<Int>(0)
    private let acceptedTLS = Atomic<Int>(0)
    private let labelled = Mutex(LabelledCounts())

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
        labelled.withLock { $0.countClose(key: LabelledCounts.closeKey(code: code, byPeer: byPeer)) }
    }

    /// Counts a connection by transport when it is accepted (a TLS or admin one is open from here on).
    public func recordAccepted(tls: Bool, admin: Bool = false) {
        if tls {
            acceptedTLS.add(1, ordering: .relaxed)
            tlsConnections.add(1, ordering: .relaxed)
        } else {
            acceptedPlain.add(1, ordering: .relaxed)
        }
        if admin { adminConnections.add(1, ordering: .relaxed) }
    }

    /// Adds what was counted since the last exposition to the labelled counters, making a label set's counter when
    /// it first counted something (so it appears in the exposition from then on, as before).
    private func addCountsToCounters() {
        let (plain, tls) = (acceptedPlain.load(ordering: .relaxed), acceptedTLS.load(ordering: .relaxed))
        labelled.withLock { counts in
            for (total, isTLS) in [(plain, false), (tls, true)] {
                counts.report(total, key: LabelledCounts.acceptedKey(tls: isTLS)) {
                    Counter(
                        label: "holdfast_connections_total", dimensions: [("transport", isTLS ? "tls" : "plain")],
                        factory: factory)
                }
            }
            for (key, total) in counts.closeTotals() {
                let (code, byPeer) = (String(key >> 1), key & 1 == 1)
                counts.report(total, key: key) {
                    Counter(
                        label: "holdfast_websocket_closes_total",
                        dimensions: [("code", code), ("initiator", byPeer ? "client" : "server")], factory: factory)
                }
            }
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
        addCountsToCounters()
        return registry.emitToBuffer()
    }
}

/// The labelled counts of ``ServerMetrics`` not yet added to their counters, and those counters: kept under one lock,
/// which a close takes for a slot increment and an exposition for the sums.
struct LabelledCounts {
    /// Closes with codes 1000–1015 (nearly all), by `closeKey(code:byPeer:) - firstKey`; other codes in `otherCloses`.
    private var closes = [Int](repeating: 0, count: 32)
    private var otherCloses: [UInt32: Int] = [:]
    /// The counters made so far, and the total each has been given, by label key.
    private var counters: [UInt32: (counter: CoreMetrics.Counter, total: Int)] = [:]
    private static var firstKey: UInt32 { 1000 << 1 }

    /// A close's key: the code and the initiator (at most 2^17).
    static func closeKey(code: UInt16, byPeer: Bool) -> UInt32 { UInt32(code) << 1 | (byPeer ? 1 : 0) }

    /// An accepted connection's key, above every close key.
    static func acceptedKey(tls: Bool) -> UInt32 { tls ? 1 << 20 : 1 << 21 }

    /// Counts one close under `key` (see ``closeKey(code:byPeer:)``).
    mutating func countClose(key: UInt32) {
        let slot = Int(key) - Int(Self.firstKey)
        if slot >= 0 && slot < closes.count { closes[slot] += 1 } else { otherCloses[key, default: 0] += 1 }
    }

    /// Every close key that counted something, with its total.
    func closeTotals() -> [(key: UInt32, total: Int)] {
        var totals: [(key: UInt32, total: Int)] = otherCloses.map { (key: $0.key, total: $0.value) }
        for slot in closes.indices where closes[slot] > 0 {
            totals.append((key: Self.firstKey + UInt32(slot), total: closes[slot]))
        }
        return totals
    }

    /// Brings the counter under `key` (made by `make` on first use) to `total`.
    mutating func report(_ total: Int, key: UInt32, make: () -> CoreMetrics.Counter) {
        guard total > 0 else { return }
        let (counter, given) = counters[key] ?? (counter: make(), total: 0)
        if total > given { counter.increment(by: total - given) }
        counters[key] = (counter, total)
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
