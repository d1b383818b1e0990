import ArgumentParser
import Foundation
import HoldfastCore

/// `holdfast-bench broadcast`: chat fan-out through one Phoenix room.
///
/// `--connections` subscribers (users `s0`…) and, in addition, `--publishers` publishers (users `p0`…) join one
/// room. Publishers send `new_msg` whose body starts with the send time (16 hex digits of monotonic ns): open
/// loop at `--rate` messages/s in total (stamped with the scheduled time), or closed loop with `--in-flight`
/// unacknowledged messages per publisher. Subscribers time each delivery against that stamp. Publishers are
/// room members too and receive their own messages; those deliveries are counted apart and not timed.
/// Subscribers are spread over `--processes` × `--threads`; publishers always run in the parent process. With
/// `--tls-share`, that share of the subscribers (and of the publishers) connects over TLS to `--tls-url`.
///
/// With `--raw`, every connection opens `--url` as a plain WebSocket (no token, join or heartbeat) to a relay that
/// sends each message to every client there; messages are ``RawBroadcast`` texts of `--size` bytes, and a
/// publisher's own copy is its acknowledgement. This compares Holdfast's room broadcast with servers that have no
/// Phoenix channels; deliveries, latencies, missing count and CPU are reported the same way.
struct BroadcastCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broadcast",
        abstract: "Fan chat messages out to M subscribers of one room; measure deliveries/s and fan-out latency."
    )

    @Option(help: "Phoenix socket endpoint (vsn and token are added), or with --raw the relay's WebSocket URL.")
    var url = "ws://127.0.0.1:4000/socket/websocket"
    @Option(help: "Server secret (HOLDFAST_SECRET_KEY) for signing connect tokens (not used with --raw).")
    var secret: String?
    @Flag(help: "Raw WebSocket relay instead of a Phoenix room: every message goes to every client at --url.")
    var raw = false
    @OptionGroup var compression: DeflateOption
    @Option(help: "Room topic.") var room = "room:bench"
    @Option(help: "Subscribers (over all processes).") var connections = 100
    @Option(help: "Publishers, in addition to the subscribers (in the parent process).") var publishers = 1
    @Option(help: "Message body bytes (at least 16: the hex send time); with --raw, whole message bytes.") var size = 64
    @Option(help: "Messages per second over all publishers (open loop); omit for closed loop.") var rate: Double?
    @Option(help: "Unacknowledged messages per publisher (closed loop).") var inFlight = 1
    @Option(help: "Measured seconds (after the warm-up).") var duration = 10.0
    @Option(help: "Unmeasured seconds of traffic before the window.") var warmup = 1.0
    @Option(help: "Seconds allowed after the window for outstanding acks and deliveries.") var drainTimeout = 10.0
    @Option(help: "Event loop threads per process.") var threads = 1
    @Option(help: "Client processes for the subscribers.") var processes = 1
    @Option(help: "Handshakes plus joins in progress at once, per process.") var concurrency = 256
    @Option(help: "Seconds allowed for opening and joining all connections.") var connectTimeout = 120.0
    @Option(name: .customLong("server-pid"), help: "Server process to charge CPU time to.") var serverPID: Int32?
    @Option(help: "HTTP URL of the server's Prometheus counters, read at the window's edges for its deliveries.")
    var serverCountsURL: String?
    @Option(help: "The counter of deliveries at --server-counts-url.")
    var serverDeliveriesMetric = "holdfast_broadcast_deliveries_total"
    @Flag(help: "Count the --server-pid process's system calls in the window with perf (needs perf and root).")
    var countServerSyscalls = false
    @Option(help: "Write a JSON report to this file.") var json: String?
    @OptionGroup var tls: TLSOptions
    @Option(help: .hidden) var worker: Int?
    @Option(help: .hidden) var firstUser = 0

    func validate() throws {
        guard connections > 0, publishers > 0, threads > 0, processes > 0, inFlight > 0, duration > 0, warmup >= 0 else {
            throw ValidationError("connections, publishers, threads, processes, in-flight and duration must be positive")
        }
        guard connections >= processes else { throw ValidationError("need at least one subscriber per process") }
        guard size >= 16 else { throw ValidationError("--size must be at least 16 to hold the send time") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if secret == nil, !raw { throw ValidationError("--secret is required unless --raw") }
    }

    func run() throws {
        raiseFileLimit()
        let target = try Target(url: url)
        var plan = ChannelPlan(
            scenario: .broadcast, target: target, signer: TokenSigner(secret: secret ?? ""), topic: room,
            concurrency: concurrency, size: size, rate: rate, inFlight: inFlight, raw: raw)
        plan.tls = try tls.mix(plain: target)
        plan.deflate = compression.enabled
        let subscriberUsers = (firstUser..<(firstUser + connections)).map { (ChannelRole.subscriber, "s\($0)") }
        let publisherUsers = (0..<publishers).map { (ChannelRole.publisher, "p\($0)") }
        if worker != nil {
            try WorkerMode.serve(runner: try ChannelRunner(plan: plan, users: subscriberUsers, threads: threads), connectTimeout: connectTimeout)
            return
        }
        let netAtStart = KernelNetCounters.read()
        let deliveryCounter = try serverCountsURL.map { url throws(BenchError) in
            try ServerDeliveryCounter(url: url, metric: serverDeliveriesMetric)
        }
        // Subscribers first (in workers, or in this process), then the publishers, so traffic meets a full room.
        let fleet: Fleet<ChannelRunner>
        let publisherRunner: ChannelRunner
        if processes > 1 {
            fleet = try Fleet.connect(
                processes: processes, connectTimeout: connectTimeout, workerArguments: workerArguments,
                makeRunner: { try ChannelRunner(plan: plan, users: [], threads: 1) })
            publisherRunner = try ChannelRunner(plan: plan, users: publisherUsers, threads: 1)
            publisherRunner.connect(timeout: connectTimeout)
        } else {
            publisherRunner = try ChannelRunner(plan: plan, users: subscriberUsers + publisherUsers, threads: threads)
            publisherRunner.connect(timeout: connectTimeout)
            fleet = .local(publisherRunner)
        }
        let start = MonotonicClock.nowNanoseconds() + 200_000_000
        let window = Window(
            warmupStart: start, measureStart: start + UInt64(warmup * 1e9), measureEnd: start + UInt64((warmup + duration) * 1e9))
        // The whole run, from before the first message to the last delivery of the drain, has no edges for a
        // backlog to fall across: every message sent is delivered to every subscriber inside it.
        let cpuBeforeRun = serverPID.flatMap(ProcStats.cpuSeconds)
        try fleet.begin(window)
        if processes > 1 { publisherRunner.begin(window) }
        sleep(untilNanoseconds: window.measureStart)
        let (cpuBefore, clientBefore) = (serverPID.flatMap(ProcStats.cpuTimes), fleet.clientCPUSeconds)
        let deliveredBefore = deliveryCounter?.read()
        let syscallCounter = countServerSyscalls ? serverPID.flatMap { SyscallCounter(pid: $0) } : nil
        let netBefore = KernelNetCounters.read()
        let waitBefore = (serverPID.flatMap(ProcStats.runQueueWaitSeconds), fleet.clientRunQueueWaitSeconds)
        sleep(untilNanoseconds: window.measureEnd)
        let (cpuAfter, clientAfter) = (serverPID.flatMap(ProcStats.cpuTimes), fleet.clientCPUSeconds)
        let deliveredAfter = deliveryCounter?.read()
        let syscalls = syscallCounter?.stop()
        let netAfter = KernelNetCounters.read()
        let waitAfter = (serverPID.flatMap(ProcStats.runQueueWaitSeconds), fleet.clientRunQueueWaitSeconds)
        // Drain: every ack, then every acknowledged message at every subscriber (these are checked, not timed).
        let drainDeadline = window.measureEnd + UInt64(drainTimeout * 1e9)
        publisherRunner.settle(deadline: drainDeadline, expected: 0)
        try fleet.settle(deadline: drainDeadline, expected: publisherRunner.acknowledged())
        let cpuAfterRun = serverPID.flatMap(ProcStats.cpuSeconds)
        var result = try fleet.finish(closeTimeout: 2)
        if processes > 1 { result.merge(publisherRunner.finish(closeTimeout: 2)) }

        let cpu = cpuBefore.flatMap { before in
            cpuAfter.map { (user: $0.user - before.user, system: $0.system - before.system) }
        }
        var report = BroadcastReport(self, result, cpu: cpu.map { $0.user + $0.system })
        report.serverUserSeconds = cpu?.user
        report.wholeRun(cpu: cpuBeforeRun.flatMap { before in cpuAfterRun.map { $0 - before } })
        report.serverSystemSeconds = cpu?.system
        report.count(serverDeliveries: deliveredBefore.flatMap { before in deliveredAfter.map { $0 &- before } },
                     syscalls: syscalls)
        report.clientCPUSeconds = clientBefore.flatMap { before in clientAfter.map { $0 - before } }
        report.serverRunQueueWaitSeconds = waitBefore.0.flatMap { before in waitAfter.0.map { $0 - before } }
        report.clientRunQueueWaitSeconds = waitBefore.1.flatMap { before in waitAfter.1.map { $0 - before } }
        report.kernelNetworkUntilWindow = netAtStart.flatMap { start in netBefore.map { $0.since(start) } }
        report.kernelNetworkInWindow = netBefore.flatMap { before in netAfter.map { $0.since(before) } }
        print(report.summary)
        if let json { try writeJSON(report, to: json) }
        if result.hasFailures || report.missingDeliveries > 0 { throw ExitCode(1) }
    }

    /// Worker `index` holds a contiguous share of the subscribers, numbered from `--first-user`.
    private func workerArguments(_ index: Int) -> [String] {
        let part = EvenSplit(total: connections, parts: processes).range(index)
        let (share, first) = (part.count, part.lowerBound)
        var arguments = [
            "broadcast", "--url", url, "--room", room, "--connections", "\(share)",
            "--size", "\(size)", "--threads", "\(threads)", "--concurrency", "\(concurrency)",
            "--connect-timeout", "\(connectTimeout)", "--worker", "\(index)", "--first-user", "\(first)",
        ]
        if let rate { arguments += ["--rate", "\(rate)"] }
        if let secret { arguments += ["--secret", secret] }
        if raw { arguments.append("--raw") }
        return arguments + compression.workerArguments + tls.workerArguments
    }
}

/// The `broadcast` scenario's report.
struct BroadcastReport: Codable {
    var scenario = "broadcast"
    var url: String
    var room: String
    /// "phoenix" (a room of Phoenix channels) or "raw" (a plain WebSocket relay, see ``RawBroadcast``).
    var transport: String
    var mode: String
    var subscribers: Int
    var subscribersJoined: Int
    /// Connections (subscribers and publishers) meant to use TLS, and those of them that joined.
    var tlsConnections: Int
    var tlsJoined: Int
    var publishers: Int
    var processes: Int
    var threads: Int
    var bodyBytes: Int
    var offeredRate: Double?
    var warmupSeconds: Double
    var durationSeconds: Double
    var joinSeconds: Double
    var messagesSent: UInt64
    var messagesAcked: UInt64
    /// Subscriber deliveries received in the window, per second (median of whole seconds) and overall.
    var deliveriesMeasured: UInt64
    var deliveriesPerSecondMedian: Double
    var deliveriesPerSecondOverall: Double
    var perSecond: [UInt64]
    /// Every acknowledged message should reach every joined subscriber; this many did not (after the drain).
    var missingDeliveries: UInt64
    /// Deliveries a subscriber had already received, and deliveries out of the room's order (a lower message id
    /// after a higher one, or a publisher's sequence going back).
    var duplicatedDeliveries: UInt64
    var reorderedDeliveries: UInt64
    var publisherDeliveries: UInt64
    var fanoutLatencyMicroseconds: LatencySummary
    /// The deliveries of `fanoutLatencyMicroseconds` received by TLS subscribers (nil when none use TLS).
    var tlsFanoutLatencyMicroseconds: LatencySummary?
    var ackLatencyMicroseconds: LatencySummary
    var serverCPUSeconds: Double?
    /// Server CPU over the window divided by the deliveries (subscribers only) received in it.
    var serverCPUMicrosecondsPerDelivery: Double?
    /// The two parts of `serverCPUSeconds`.
    var serverUserSeconds: Double?
    var serverSystemSeconds: Double?
    /// Deliveries the server counted itself in the window (`--server-counts-url`; publishers' copies included),
    /// and its CPU divided by them: what it did in the window, however far its clients were behind.
    var serverDeliveries: UInt64?
    var serverCPUMicrosecondsPerServerDelivery: Double?
    /// The server's system calls in the window by name (`--count-server-syscalls`), and its deliveries per
    /// socket write (sendto, sendmsg, writev and write together).
    var serverSyscalls: [String: UInt64]?
    var serverDeliveriesPerWrite: Double?
    /// Every subscriber delivery of the run (warm-up, window and drain), and the server's CPU from before the first
    /// message to the last of them divided by them (only when none is missing): no edge for a backlog to cross.
    var subscriberDeliveriesTotal: UInt64
    var serverCPUSecondsWholeRun: Double?
    var serverCPUMicrosecondsPerDeliveryWholeRun: Double?
    /// CPU time of the client processes in the window (subscribers and publishers).
    var clientCPUSeconds: Double?
    /// Seconds the server's and the client processes' threads waited for a CPU in the window (summed over
    /// threads): low CPU time with little waiting means idle, with much waiting starved.
    var serverRunQueueWaitSeconds: Double?
    var clientRunQueueWaitSeconds: Double?
    /// Whole seconds of the window with less than a tenth of the median second's deliveries (or none at all).
    var stalledSeconds: Int
    /// The machine's network losses (see ``KernelNetCounters``) from the start to the window (connecting,
    /// joining, warm-up), and in the window: a stall with losses there is TCP waiting out a retransmission timeout.
    var kernelNetworkUntilWindow: KernelNetCounters?
    var kernelNetworkInWindow: KernelNetCounters?
    var errors: ChannelErrors

    init(_ command: BroadcastCommand, _ result: ChannelResult, cpu: Double?) {
        url = command.url
        room = command.room
        transport = command.raw ? "raw" : "phoenix"
        mode = command.rate == nil ? "closed loop, \(command.inFlight) in flight per publisher" : "open loop"
        subscribers = command.connections
        subscribersJoined = result.joined - min(result.joined, command.publishers)
        tlsConnections = result.tlsConnections
        tlsJoined = result.tlsJoined
        publishers = command.publishers
        processes = command.processes
        threads = command.threads
        bodyBytes = command.size
        offeredRate = command.rate
        warmupSeconds = command.warmup
        durationSeconds = command.duration
        joinSeconds = result.readyNanoseconds > result.connectStartNanoseconds
            ? Double(result.readyNanoseconds - result.connectStartNanoseconds) / 1e9 : 0
        messagesSent = result.messagesSent
        messagesAcked = result.messagesAcked
        deliveriesMeasured = result.deliveriesMeasured
        deliveriesPerSecondMedian = median(Array(result.perSecond.prefix(max(1, Int(command.duration)))))
        deliveriesPerSecondOverall = Double(result.deliveriesMeasured) / command.duration
        perSecond = result.perSecond
        let expected = result.messagesAcked * UInt64(subscribersJoined)
        missingDeliveries = expected > result.deliveriesTotal ? expected - result.deliveriesTotal : 0
        subscriberDeliveriesTotal = result.deliveriesTotal
        duplicatedDeliveries = result.duplicated
        reorderedDeliveries = result.reordered
        publisherDeliveries = result.publisherDeliveries
        fanoutLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.fanoutLatency))
        if result.tlsConnections > 0 { tlsFanoutLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.fanoutLatencyTLS)) }
        ackLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.ackLatency))
        serverCPUSeconds = cpu
        let median = deliveriesPerSecondMedian
        stalledSeconds = result.perSecond.prefix(max(1, Int(command.duration))).count { Double($0) * 10 < median || $0 == 0 }
        serverCPUMicrosecondsPerDelivery = cpu.flatMap { result.deliveriesMeasured > 0 ? $0 * 1e6 / Double(result.deliveriesMeasured) : nil }
        errors = ChannelErrors(result)
    }

    /// Notes the server's CPU from before the first message to the end of the drain.
    mutating func wholeRun(cpu: Double?) {
        serverCPUSecondsWholeRun = cpu
        guard let cpu, missingDeliveries == 0, subscriberDeliveriesTotal > 0 else { return }
        serverCPUMicrosecondsPerDeliveryWholeRun = cpu * 1e6 / Double(subscriberDeliveriesTotal)
    }

    /// Notes the server's own counts of the window.
    mutating func count(serverDeliveries: UInt64?, syscalls: [String: UInt64]?) {
        self.serverDeliveries = serverDeliveries
        if let serverDeliveries, serverDeliveries > 0, let serverCPUSeconds {
            serverCPUMicrosecondsPerServerDelivery = serverCPUSeconds * 1e6 / Double(serverDeliveries)
        }
        guard let syscalls, !syscalls.isEmpty else { return }
        serverSyscalls = syscalls
        let writes = SyscallCounter.writeCalls.reduce(0) { $0 + (syscalls[$1] ?? 0) }
        if let serverDeliveries, writes > 0 { serverDeliveriesPerWrite = Double(serverDeliveries) / Double(writes) }
    }

    var summary: String {
        let raw = transport == "raw"
        var lines = [
            "broadcast \(url) \(raw ? "(raw relay)" : room): \(mode), "
                + "\(subscribersJoined)/\(subscribers) subscribers + \(publishers) publisher(s), "
                + "\(processes) process(es) × \(threads) thread(s), \(bodyBytes)-byte \(raw ? "messages" : "bodies")",
            String(format: "  joined in %.2f s; window %.1f s after %.1f s warm-up", joinSeconds, durationSeconds, warmupSeconds)
                + "; \(tlsJoined)/\(tlsConnections) TLS connections joined",
            "  messages: \(messagesSent) sent, \(messagesAcked) acknowledged; deliveries in window: \(deliveriesMeasured), "
                + "missing after drain: \(missingDeliveries), duplicated: \(duplicatedDeliveries), "
                + "reordered: \(reorderedDeliveries)",
            String(format: "  deliveries/s: median %.0f, overall %.0f", deliveriesPerSecondMedian, deliveriesPerSecondOverall),
            "  fan-out latency µs: " + fanoutLatencyMicroseconds.line,
        ]
        if let tlsFanoutLatencyMicroseconds {
            lines.append("    at TLS subscribers: " + tlsFanoutLatencyMicroseconds.line)
        }
        lines += [
            "  ack latency µs:     " + ackLatencyMicroseconds.line,
        ]
        if let serverCPUSeconds {
            lines.append(String(format: "  server CPU: %.3f s, %.3f µs per delivery", serverCPUSeconds, serverCPUMicrosecondsPerDelivery ?? 0))
        }
        if let serverUserSeconds, let serverSystemSeconds {
            lines.append(String(format: "    user %.3f s, system %.3f s", serverUserSeconds, serverSystemSeconds))
        }
        if let serverCPUSecondsWholeRun {
            lines.append(String(format: "  whole run (first message to last delivery): server CPU %.3f s, %.3f µs "
                                + "per delivery",
                                serverCPUSecondsWholeRun, serverCPUMicrosecondsPerDeliveryWholeRun ?? 0))
        }
        if let serverDeliveries {
            lines.append(String(format: "  server's own deliveries in window: %llu, %.3f µs of its CPU per delivery",
                                serverDeliveries, serverCPUMicrosecondsPerServerDelivery ?? 0))
        }
        if let serverSyscalls {
            let calls = SyscallCounter.calls.map { "\($0) \(serverSyscalls[$0] ?? 0)" }.joined(separator: ", ")
            lines.append("  server system calls in window: " + calls
                + (serverDeliveriesPerWrite.map { String(format: "; %.1f deliveries per write", $0) } ?? ""))
        }
        if let clientCPUSeconds { lines.append(String(format: "  client CPU: %.3f s", clientCPUSeconds)) }
        if serverRunQueueWaitSeconds != nil || clientRunQueueWaitSeconds != nil {
            lines.append(
                "  waiting for a CPU in the window: "
                    + [("server", serverRunQueueWaitSeconds), ("client", clientRunQueueWaitSeconds)]
                    .compactMap { name, value in value.map { name + String(format: " %.3f s", $0) } }
                    .joined(separator: ", "))
        }
        if stalledSeconds > 0 { lines.append("  stalled seconds (under a tenth of the median): \(stalledSeconds)") }
        if let kernelNetworkUntilWindow { lines.append("  kernel network before the window: " + kernelNetworkUntilWindow.line) }
        if let kernelNetworkInWindow { lines.append("  kernel network in the window: " + kernelNetworkInWindow.line) }
        lines.append(contentsOf: errors.lines)
        return lines.joined(separator: "\n")
    }
}

/// Failure counts of the channel scenarios.
struct ChannelErrors: Codable {
    var connectFailures: Int
    var joinFailures: Int
    var unexpectedCloses: Int
    var protocolViolations: Int
    var errorReplies: Int
    var badFrames: Int
    var samples: [String: Int]

    init(_ result: ChannelResult) {
        connectFailures = result.connectFailures
        joinFailures = result.joinFailures
        unexpectedCloses = result.unexpectedCloses
        protocolViolations = result.protocolViolations
        errorReplies = result.errorReplies
        badFrames = result.badFrames
        samples = result.errorSamples
    }

    var lines: [String] {
        ["  errors: connect failures \(connectFailures), join failures \(joinFailures), unexpected closes \(unexpectedCloses), "
            + "protocol violations \(protocolViolations), error replies \(errorReplies), bad frames \(badFrames)"]
            + samples.sorted { $0.value > $1.value }.map { "    \($0.value)× \($0.key)" }
    }
}

extension LatencySummary {
    /// The percentiles on one line.
    var line: String {
        String(format: "p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f", p50, p90, p99, p999, max)
    }
}
