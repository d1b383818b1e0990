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
/// late `presence_diff` or error. Users are spread over `--processes` × `--threads`.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "N users chat in R rooms; measure deliveries/s and latency, check exactly-once in-order delivery."
    )

    @Option(help: "Phoenix socket endpoint (vsn and token are added).") var url = "ws://127.0.0.1:4000/socket/websocket"
    @Option(help: "Server secret (HOLDFAST_SECRET_KEY) for signing connect tokens.") var secret: String
    @Option(help: "Users (one socket each, over all processes).") var connections = 100
    @Option(help: "Rooms; user i joins room:chat<i % rooms>.") var rooms = 10
    @Option(help: "Messages per second per user (open loop).") var rate = 1.0
    @Option(help: "Message body bytes (at least the \"c<i>:<seq>:\" prefix plus 16 hex digits).") var size = 64
    @Option(help: "Measured seconds (after the warm-up).") var duration = 10.0
    @Option(help: "Unmeasured seconds of traffic before the window.") var warmup = 1.0
    @Option(help: "Seconds allowed after the window for outstanding acks.") var drainTimeout = 10.0
    @Option(help: "Seconds to wait for deliveries once every ack is in.") var drain = 1.0
    @Option(help: "Event loop threads per process.") var threads = 1
    @Option(help: "Client processes; each holds its share of the users.") var processes = 1
    @Option(help: "Handshakes plus joins in progress at once, per process.") var concurrency = 256
    @Option(help: "Seconds allowed for opening and joining all connections.") var connectTimeout = 120.0
    @Option(name: .customLong("server-pid"), help: "Server process to charge CPU time to.") var serverPID: Int32?
    @Option(help: "Write a JSON report to this file.") var json: String?
    @Option(help: .hidden) var worker: Int?
    @Option(help: .hidden) var firstUser = 0
    @Option(help: .hidden) var totalUsers: Int?

    func validate() throws {
        guard connections > 0, rooms > 0, threads > 0, processes > 0, concurrency > 0, duration > 0, warmup >= 0, drain >= 0 else {
            throw ValidationError("connections, rooms, threads, processes, concurrency and duration must be positive")
        }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard connections >= processes else { throw ValidationError("need at least one user per process") }
        guard size >= 16 else { throw ValidationError("--size must be at least 16 to hold the send time") }
    }

    func run() throws {
        raiseFileLimit()
        var plan = ChannelPlan(
            scenario: .chat, target: try Target(url: url), signer: TokenSigner(secret: secret), topic: ChannelPlan.chatTopic(0),
            concurrency: concurrency, size: size, rate: rate)
        plan.rooms = rooms
        plan.users = totalUsers ?? connections
        let users = (firstUser..<(firstUser + connections)).map { (ChannelRole.chatter, "c\($0)") }
        let makeRunner = { try ChannelRunner(plan: plan, users: users, threads: threads) }
        if worker != nil {
            try WorkerMode.serve(runner: try makeRunner(), connectTimeout: connectTimeout)
            return
        }
        let fleet = try Fleet.connect(
            processes: processes, connectTimeout: connectTimeout, workerArguments: workerArguments, makeRunner: makeRunner)
        let start = MonotonicClock.nowNanoseconds() + 200_000_000
        let window = Window(
            warmupStart: start, measureStart: start + UInt64(warmup * 1e9), measureEnd: start + UInt64((warmup + duration) * 1e9))
        try fleet.begin(window)
        sleep(untilNanoseconds: window.measureStart)
        let cpuBefore = serverPID.flatMap(ProcStats.cpuSeconds)
        sleep(untilNanoseconds: window.measureEnd)
        let cpuAfter = serverPID.flatMap(ProcStats.cpuSeconds)
        // Drain: every ack, then a pause for the deliveries of the last acknowledged messages.
        try fleet.settle(deadline: window.measureEnd + UInt64(drainTimeout * 1e9), expected: 0)
        sleep(untilNanoseconds: MonotonicClock.nowNanoseconds() + UInt64(drain * 1e9))
        let result = try fleet.finish(closeTimeout: 2)

        let report = ChatReport(self, result, cpu: cpuBefore.flatMap { before in cpuAfter.map { $0 - before } })
        print(report.summary)
        if let json { try writeJSON(report, to: json) }
        if result.hasFailures || result.joined < connections || report.failed { throw ExitCode(1) }
    }

    /// Worker `index` holds a contiguous share of the users, numbered from `--first-user`.
    private func workerArguments(_ index: Int) -> [String] {
        let part = EvenSplit(total: connections, parts: processes).range(index)
        let (share, first) = (part.count, part.lowerBound)
        return [
            "chat", "--url", url, "--secret", secret, "--connections", "\(share)", "--rooms", "\(rooms)",
            "--rate", "\(rate)", "--size", "\(size)", "--threads", "\(threads)", "--concurrency", "\(concurrency)",
            "--connect-timeout", "\(connectTimeout)", "--worker", "\(index)", "--first-user", "\(first)",
            "--total-users", "\(connections)",
        ]
    }
}

/// The `chat` scenario's report.
struct ChatReport: Codable {
    var scenario = "chat"
    var url: String
    var users: Int
    var joined: Int
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
    var ackLatencyMicroseconds: LatencySummary
    /// Acknowledged messages some member of the sender's room never received, over all (sender, receiver) pairs.
    var lost: UInt64
    var duplicated: UInt64
    var reordered: UInt64
    /// Unexpected closes and resets.
    var closed: Int
    /// `presence_diff` frames received after every join was answered.
    var presenceDiffs: UInt64
    var serverCPUSeconds: Double?
    var errors: ChannelErrors

    enum CodingKeys: String, CodingKey {
        case scenario, url, users, joined, rooms, processes, threads, rate, lost, duplicated, reordered, closed, errors
        case bodyBytes = "body_bytes", warmupSeconds = "warmup_seconds", durationSeconds = "duration_seconds"
        case joinSeconds = "join_seconds", messagesSent = "messages_sent", messagesAcked = "messages_acked"
        case deliveredMeasured = "delivered_measured", deliveredTotal = "delivered_total"
        case deliveredPerSecond = "delivered_per_second", deliveredPerSecondMedian = "delivered_per_second_median"
        case perSecond = "per_second", ownDeliveries = "own_deliveries"
        case deliveryLatencyMicroseconds = "delivery_latency_us", ackLatencyMicroseconds = "ack_latency_us"
        case presenceDiffs = "presence_diffs", serverCPUSeconds = "server_cpu_seconds"
    }

    init(_ command: ChatCommand, _ result: ChannelResult, cpu: Double?) {
        url = command.url
        users = command.connections
        joined = result.joined
        rooms = command.rooms
        processes = command.processes
        threads = command.threads
        bodyBytes = command.size
        rate = command.rate
        warmupSeconds = command.warmup
        durationSeconds = command.duration
        joinSeconds = result.readyNanoseconds > result.connectStartNanoseconds
            ? Double(result.readyNanoseconds - result.connectStartNanoseconds) / 1e9 : 0
        messagesSent = result.messagesSent
        messagesAcked = result.messagesAcked
        deliveredMeasured = result.deliveriesMeasured
        deliveredTotal = result.deliveriesTotal
        deliveredPerSecond = Double(result.deliveriesMeasured) / command.duration
        deliveredPerSecondMedian = median(Array(result.perSecond.prefix(max(1, Int(command.duration)))))
        perSecond = result.perSecond
        ownDeliveries = result.publisherDeliveries
        deliveryLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.fanoutLatency))
        ackLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.ackLatency))
        lost = result.lost
        duplicated = result.duplicated
        reordered = result.reordered
        closed = result.unexpectedCloses
        presenceDiffs = result.lateDiffs
        serverCPUSeconds = cpu
        errors = ChannelErrors(result)
    }

    /// Whether a delivery check failed.
    var failed: Bool {
        lost + duplicated + reordered + presenceDiffs > 0 || closed > 0
    }

    var summary: String {
        var lines = [
            "chat \(url): \(joined)/\(users) users joined \(rooms) rooms in \(String(format: "%.2f", joinSeconds)) s, "
                + "\(processes) process(es) × \(threads) thread(s), \(rate) msg/s per user, \(bodyBytes)-byte bodies",
            String(format: "  window %.1f s after %.1f s warm-up", durationSeconds, warmupSeconds),
            "  messages: \(messagesSent) sent, \(messagesAcked) acknowledged; deliveries: \(deliveredMeasured) in window, "
                + "\(deliveredTotal) in all, \(ownDeliveries) own",
            String(format: "  delivered/s: %.0f (median second %.0f)", deliveredPerSecond, deliveredPerSecondMedian),
            "  delivery latency µs: " + deliveryLatencyMicroseconds.line,
            "  ack latency µs:      " + ackLatencyMicroseconds.line,
            "  checks: lost \(lost), duplicated \(duplicated), reordered \(reordered), closed \(closed), "
                + "presence_diffs \(presenceDiffs)",
        ]
        if let serverCPUSeconds { lines.append(String(format: "  server CPU: %.3f s in the window", serverCPUSeconds)) }
        lines.append(contentsOf: errors.lines)
        return lines.joined(separator: "\n")
    }
}
