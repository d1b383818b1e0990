import Synchronization


/// A monotonically increasing counter, safe to bump from any loop.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int = 1) { value.wrappingAdd(amount, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// The server's counters, rendered in Prometheus text format by `GET /metrics`.
final class ServerMetrics: Sendable {
    let messagesIn = Counter()
    let messagesOut = Counter()
    let deliveries = Counter()
    let presenceDiffs = Counter()
    let joins = Counter()
    let protocolErrors = Counter()
}

extension ServerMetrics {
    /// The Prometheus text exposition of every counter and gauge.
    func render(context: ServerContext) -> String {
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ value: Int) {
            lines.append("# HELP holdfast_\(name) \(help)")
            lines.append("# TYPE holdfast_\(name) \(type)")
            lines.append("holdfast_\(name) \(value)")
        }
        metric("connections_open", "gauge", "Open client connections.", context.openConnections.load(ordering: .relaxed))
        metric("connections_accepted_total", "counter", "Client connections accepted.", context.acceptedConnections.load(ordering: .relaxed))
        metric("rooms", "gauge", "Rooms created.", context.rooms.roomCount)
        metric("channel_joins_total", "counter", "Channel joins requested.", joins.current)
        metric("messages_in_total", "counter", "Phoenix frames received.", messagesIn.current)
        metric("messages_out_total", "counter", "Phoenix frames sent to one connection.", messagesOut.current)
        metric("broadcast_deliveries_total", "counter", "Broadcast frames written to members.", deliveries.current)
        metric("presence_diff_deliveries_total", "counter", "presence_diff frames delivered.", presenceDiffs.current)
        metric("protocol_errors_total", "counter", "Frames that could not be decoded.", protocolErrors.current)
        metric("room_restarts_total", "counter", "Room actors restarted after a failure.", context.rooms.restartCount)
        return lines.joined(separator: "\n") + "\n"
    }
}
