import ArgumentParser
import Foundation
import HoldfastCore

/// `holdfast-bench chat`: many rooms of chatting users, every delivery checked.
///
/// `--connections` users (`c0`…) join `room:chat<i % rooms>`; once all joins are answered, each sends
/// `new_msg` at `--rate` messages/s (open loop, the members of a loop staggered evenly), with body
/// `c<i>:<seq>:<send time as 16 hex digits>` padded to `--size` and `client_id` `c<i>:<seq>`. Every member
/// checks the messages of the other members of its room with a ``SequenceChecker`` (duplicates, reorders) and,
/// after the drain, compares what it got from each sender with the sender's acknowledged count (losses).
/// Reports deliveries/s, delivery and ack latency, and fails on any loss, duplicate, reorder, unexpected close,
/// late `presence_diff` or error. Users are spread over `--processes` × `--threads`; with `--tls-share`, that
/// share of them connects over TLS to `--tls-url`. With `--url` repeated, each room's members are spread
/// round-robin over the nodes (see ``ChannelPlan/node(of:)``) and every check is cluster-wide.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "N users chat in R rooms; measure deliveries/s and latency, check exactly-once in-order delivery."
    )

    @OptionGroup var options: ChatOptions
    @Option(help: "Measured seconds (after the warm-up).") var duration = 10.0

    func validate() throws {
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
    }

    func run() throws {
        guard let fleet = try options.connect(timeline: false) else { return }
        let window = options.window(duration: duration)
        try fleet.begin(window)
        sleep(untilNanoseconds: window.measureStart)
        let cpuBefore = options.serverPID.flatMap(ProcStats.cpuSeconds)
        sleep(untilNanoseconds: window.measureEnd)
        let cpuAfter = options.serverPID.flatMap(ProcStats.cpuSeconds)
        let result = try options.drainAndFinish(fleet, after: window)

        let report = ChatReport(
            options, duration: duration, result, cpu: cpuBefore.flatMap { before in cpuAfter.map { $0 - before } })
        print(report.summary)
        if let json = options.json { try writeJSON(report, to: json) }
        if result.hasFailures || result.joined < options.connections || report.failed { throw ExitCode(1) }
    }
}

/// The `chat` scenario's report.
struct ChatReport: Codable {
    var scenario = "chat"
    var url: String
    /// Every node's endpoint, in order (one entry without a repeated `--url`).
    var urls: [String]
    var users: Int
    var joined: Int
    /// Users meant to connect over TLS, and those of them that joined.
    var tlsUsers: Int
    var tlsJoined: Int
    var rooms: Int
    var processes: Int
    var threads: Int
    var bodyBytes: Int
    /// Messages per second per user.
    var rate: Double
    var warmupSeconds: Double
    var durationSeconds: Double
    var joinSeconds: Double
    var messagesSent: UInt64
    var messagesAcked: UInt64
    /// Deliveries of other members' messages received in the window, and over the whole run.
    var deliveredMeasured: UInt64
    var deliveredTotal: UInt64
    var deliveredPerSecond: Double
    var deliveredPerSecondMedian: Double
    var perSecond: [UInt64]
    /// Deliveries of a member's own messages (not checked).
    var ownDeliveries: UInt64
    var deliveryLatencyMicroseconds: LatencySummary
    /// The deliveries of `deliveryLatencyMicroseconds` received by TLS users (nil when none use TLS).
    var tlsDeliveryLatencyMicroseconds: LatencySummary?
    var ackLatencyMicroseconds: LatencySummary
    /// Acknowledged messages some member of the sender's room never received, over all (sender, receiver) pairs.
    var lost: UInt64
    var duplicated: UInt64
    var reordered: UInt64
    /// Unexpected closes and resets.
    var closed: Int
    /// `presence_diff` frames received after every join was answered (expected once anyone reconnected).
    var presenceDiffs: UInt64
    /// With `--reconnect`: connections dropped and members back in their room, the time from drop to rejoined,
    /// failed reconnect attempts, and messages sent that never got an ok reply (in flight at a drop; not
    /// counted as lost) with those of them that reached every member anyway.
    var drops: Int
    var reconnects: Int
    var reconnectMilliseconds: MillisecondSummary?
    var reconnectAttemptsFailed: Int
    var unacknowledged: Int
    var unacknowledgedDelivered: Int
    /// Messages that reached a member through a rejoin's recovery rather than live.
    var recoveredDeliveries: UInt64
    /// The part of `duplicated` whose ids were within the receiver's last rejoin reply's `last_id`.
    var duplicatedWithinRejoin: UInt64
    var serverCPUSeconds: Double?
    var errors: ChannelErrors

    enum CodingKeys: String, CodingKey {
        case scenario, url, urls, users, joined, rooms, processes, threads, rate, lost, duplicated, reordered, closed, errors
        case bodyBytes = "body_bytes"
        case warmupSeconds = "warmup_seconds"
        case durationSeconds = "duration_seconds"
        case joinSeconds = "join_seconds"
        case messagesSent = "messages_sent"
        case messagesAcked = "messages_acked"
        case deliveredMeasured = "delivered_measured"
        case deliveredTotal = "delivered_total"
        case deliveredPerSecond = "delivered_per_second"
        case deliveredPerSecondMedian = "delivered_per_second_median"
        case perSecond = "per_second"
        case ownDeliveries = "own_deliveries"
        case deliveryLatencyMicroseconds = "delivery_latency_us"
        case ackLatencyMicroseconds = "ack_latency_us"
        case tlsUsers = "tls_users"
        case tlsJoined = "tls_joined"
        case tlsDeliveryLatencyMicroseconds = "tls_delivery_latency_us"
        case presenceDiffs = "presence_diffs"
        case serverCPUSeconds = "server_cpu_seconds"
        case drops, reconnects
        case reconnectMilliseconds = "reconnect_ms"
        case reconnectAttemptsFailed = "reconnect_attempts_failed"
        case unacknowledged
        case unacknowledgedDelivered = "unacknowledged_delivered"
        case recoveredDeliveries = "recovered_deliveries"
        case duplicatedWithinRejoin = "duplicated_within_rejoin"
    }

    init(_ command: ChatOptions, duration: Double, _ result: ChannelResult, cpu: Double?) {
        url = command.url
        urls = command.nodeURLs
        users = command.connections
        joined = result.joined
        tlsUsers = result.tlsConnections
        tlsJoined = result.tlsJoined
        rooms = command.rooms
        processes = command.processes
        threads = command.threads
        bodyBytes = command.size
        rate = command.rate
        warmupSeconds = command.warmup
        durationSeconds = duration
        joinSeconds =
            result.readyNanoseconds > result.connectStartNanoseconds
            ? Double(result.readyNanoseconds - result.connectStartNanoseconds) / 1e9 : 0
        messagesSent = result.messagesSent
        messagesAcked = result.messagesAcked
        deliveredMeasured = result.deliveriesMeasured
        deliveredTotal = result.deliveriesTotal
        deliveredPerSecond = Double(result.deliveriesMeasured) / duration
        deliveredPerSecondMedian = median(Array(result.perSecond.prefix(max(1, Int(duration)))))
        perSecond = result.perSecond
        ownDeliveries = result.publisherDeliveries
        deliveryLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.fanoutLatency))
        if result.tlsConnections > 0 {
            tlsDeliveryLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.fanoutLatencyTLS))
        }
        ackLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.ackLatency))
        lost = result.lost
        duplicated = result.duplicated
        reordered = result.reordered
        closed = result.unexpectedCloses
        presenceDiffs = result.lateDiffs
        drops = result.drops
        reconnects = result.reconnects
        if result.reconnects > 0 {
            reconnectMilliseconds = MillisecondSummary(ChannelResult.histogram(result.reconnectLatency))
        }
        reconnectAttemptsFailed = result.reconnectAttemptsFailed
        unacknowledged = result.unacknowledged
        unacknowledgedDelivered = result.unacknowledgedDelivered
        recoveredDeliveries = result.recoveredDeliveries
        duplicatedWithinRejoin = result.duplicatedWithinRejoin
        serverCPUSeconds = cpu
        errors = ChannelErrors(result)
    }

    /// Whether a delivery check failed.
    var failed: Bool {
        // A member that reconnected rejoins the room: the others see it leave and join again.
        lost + duplicated + reordered > 0 || closed > 0 || (presenceDiffs > 0 && drops == 0)
    }

    /// The endpoint, or the nodes, for the summary's first line.
    private var endpoint: String { urls.count > 1 ? "\(urls.count) nodes (\(urls.joined(separator: ", ")))" : url }

    var summary: String {
        var lines = [
            "chat \(endpoint): \(joined)/\(users) users (\(tlsJoined)/\(tlsUsers) over TLS) joined \(rooms) rooms in "
                + "\(String(format: "%.2f", joinSeconds)) s, "
                + "\(processes) process(es) × \(threads) thread(s), \(rate) msg/s per user, \(bodyBytes)-byte bodies",
            String(format: "  window %.1f s after %.1f s warm-up", durationSeconds, warmupSeconds),
            "  messages: \(messagesSent) sent, \(messagesAcked) acknowledged; deliveries: \(deliveredMeasured) in window, "
                + "\(deliveredTotal) in all, \(ownDeliveries) own",
            String(format: "  delivered/s: %.0f (median second %.0f)", deliveredPerSecond, deliveredPerSecondMedian),
            "  delivery latency µs: " + deliveryLatencyMicroseconds.line,
        ]
        if let tlsDeliveryLatencyMicroseconds {
            lines.append("    at TLS users µs:   " + tlsDeliveryLatencyMicroseconds.line)
        }
        lines += [
            "  ack latency µs:      " + ackLatencyMicroseconds.line,
            "  checks: lost \(lost), duplicated \(duplicated), reordered \(reordered), closed \(closed), "
                + "presence_diffs \(presenceDiffs)",
        ]
        if drops > 0 || reconnects > 0 {
            lines.append(
                "  reconnects: \(drops) dropped, \(reconnects) rejoined, \(reconnectAttemptsFailed) attempts failed; "
                    + "reconnect ms " + (reconnectMilliseconds?.line ?? "-")
                    + "; \(recoveredDeliveries) deliveries recovered")
            lines.append(
                "  unacknowledged (in flight at a drop, not counted as lost): \(unacknowledged), "
                    + "\(unacknowledgedDelivered) of them delivered to every member")
        }
        if let serverCPUSeconds { lines.append(String(format: "  server CPU: %.3f s in the window", serverCPUSeconds)) }
        lines.append(contentsOf: errors.lines)
        return lines.joined(separator: "\n")
    }
}
