import CoreMetrics
import Prometheus
import Synchronization

/// The server's metrics: swift-metrics counters backed by a Prometheus registry of the server's own (no global
/// bootstrap, so tests and embedders may run several servers), rendered in Prometheus text format by
/// `GET /metrics`. Gauges are sampled at scrape time.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    let messagesIn: CoreMetrics.Counter
    let messagesOut: CoreMetrics.Counter
    let deliveries: CoreMetrics.Counter
    let presenceDiffs: CoreMetrics.Counter
    let joins: CoreMetrics.Counter
    let protocolErrors: CoreMetrics.Counter
    private let connectionsOpen: Prometheus.Gauge
    private let connectionsAccepted: Prometheus.Gauge
    private let rooms: Prometheus.Gauge
    private let roomRestarts: Prometheus.Gauge

    init() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        self.registry = registry
        self.factory = factory
        messagesIn = Counter(label: "holdfast_messages_in_total", factory: factory)
        messagesOut = Counter(label: "holdfast_messages_out_total", factory: factory)
        deliveries = Counter(label: "holdfast_broadcast_deliveries_total", factory: factory)
        presenceDiffs = Counter(label: "holdfast_presence_diff_deliveries_total", factory: factory)
        joins = Counter(label: "holdfast_channel_joins_total", factory: factory)
        protocolErrors = Counter(label: "holdfast_protocol_errors_total", factory: factory)
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
    func recordClose(code: UInt16, byPeer: Bool) {
        Counter(
            label: "holdfast_websocket_closes_total",
            dimensions: [("code", String(code)), ("initiator", byPeer ? "client" : "server")], factory: factory
        ).increment()
    }

    /// Counts a connection by transport when it is accepted.
    func recordAccepted(tls: Bool) {
        Counter(
            label: "holdfast_connections_total", dimensions: [("transport", tls ? "tls" : "plain")], factory: factory
        )
        .increment()
    }

    /// The Prometheus text exposition, with the gauges set to the values sampled now.
    func render(openConnections: Int, acceptedConnections: Int, rooms roomCount: Int, roomRestarts restarts: Int)
        -> [UInt8]
    {
        connectionsOpen.set(Int64(openConnections))
        connectionsAccepted.set(Int64(acceptedConnections))
        rooms.set(Int64(roomCount))
        roomRestarts.set(Int64(restarts))
        return registry.emitToBuffer()
    }
}

extension CoreMetrics.Counter {
    /// Adds `amount` (a count of deliveries, frames...).
    func add(_ amount: Int = 1) { increment(by: amount) }
}
