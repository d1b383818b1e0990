import ArgumentParser
import HoldfastCore

/// `holdfast-bench echo`: throughput and round-trip latency of WebSocket echo.
///
/// Closed loop by default: each connection keeps `--pipeline` messages in flight and sends the next one when an
/// echo returns, latency measured from the actual send. With `--rate`, open loop: messages leave on a fixed
/// schedule spread round-robin over the connections, latency measured from the *scheduled* send time.
struct EchoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Echo messages over N connections and measure throughput and round-trip latency."
    )

    @Option(help: "Echo endpoint.") var url = "ws://127.0.0.1:4000/ws/echo"
    @Option(help: "Connections to open (over all processes).") var connections = 100
    @Option(help: "Payload bytes per message.") var size = 64
    @Option(help: "Measured seconds (after the warm-up).") var duration = 10.0
    @Option(help: "Unmeasured seconds of traffic before the window.") var warmup = 1.0
    @Option(help: "Total messages per second, open loop; omit for closed loop.") var rate: Double?
    @Option(help: "Messages in flight per connection (closed loop).") var pipeline = 1
    @Flag(help: "Send text frames (hex timestamp) instead of binary ones.") var text = false
    @Option(help: "Event loop threads per process.") var threads = 1
    @Option(help: "Client processes; each holds its share of the connections.") var processes = 1
    @Option(help: "Handshakes in progress at once, per process.") var concurrency = 256
    @Option(help: "Seconds allowed for opening all connections.") var connectTimeout = 30.0
    @Option(name: .customLong("server-pid"), help: "Server process to charge CPU time to.") var serverPID: Int32?
    @Option(help: "Write a JSON report to this file.") var json: String?
    @Option(help: .hidden) var worker: Int?

    func validate() throws {
        guard connections > 0, threads > 0, processes > 0, pipeline > 0, duration > 0, warmup >= 0 else {
            throw ValidationError("connections, threads, processes, pipeline and duration must be positive")
        }
        guard connections >= processes else { throw ValidationError("need at least one connection per process") }
        guard size >= EchoPayload.minimumSize(text: text) else {
            throw ValidationError("--size must be at least \(EchoPayload.minimumSize(text: text)) to hold the timestamp")
        }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    func run() throws {
        raiseFileLimit()
        let target = try Target(url: url)
        let traffic = Traffic(size: size, text: text, pipeline: pipeline, rate: rate)
        let makeRunner = {
            try LoadRunner(target: target, connections: connections, threads: threads, concurrency: concurrency, traffic: traffic)
        }
        if worker != nil {
            try WorkerMode.serve(runner: try makeRunner(), connectTimeout: connectTimeout)
            return
        }
        let fleet = try Fleet.connect(
            processes: processes, connectTimeout: connectTimeout, workerArguments: workerArguments, makeRunner: makeRunner
        )
        // Every process starts on the same absolute schedule, a moment from now.
        let start = MonotonicClock.nowNanoseconds() + 100_000_000
        let window = Window(
            warmupStart: start,
            measureStart: start + UInt64(warmup * 1e9),
            measureEnd: start + UInt64((warmup + duration) * 1e9)
        )
        try fleet.begin(window)
        sleep(untilNanoseconds: window.measureStart)
        let (cpuBefore, clientBefore) = (serverPID.flatMap(ProcStats.cpuSeconds), fleet.clientCPUSeconds)
        sleep(untilNanoseconds: window.measureEnd)
        let (cpuAfter, clientAfter) = (serverPID.flatMap(ProcStats.cpuSeconds), fleet.clientCPUSeconds)
        // Let answers already on the wire arrive (they are not counted) before closing.
        sleep(untilNanoseconds: window.measureEnd + 100_000_000)
        let result = try fleet.finish(closeTimeout: 2)

        var report = makeReport(result, cpuBefore: cpuBefore, cpuAfter: cpuAfter)
        report.clientCPUSeconds = clientBefore.flatMap { before in clientAfter.map { $0 - before } }
        print(report.summary)
        if let json { try writeJSON(report, to: json) }
        if result.hasFailures { throw ExitCode(1) }
    }

    /// The command line of worker `index`: this run's options with its share of connections and rate.
    private func workerArguments(_ index: Int) -> [String] {
        let share = EvenSplit(total: connections, parts: processes).range(index).count
        var arguments = [
            "echo", "--url", url, "--connections", "\(share)", "--size", "\(size)", "--duration", "\(duration)",
            "--warmup", "\(warmup)", "--pipeline", "\(pipeline)", "--threads", "\(threads)",
            "--concurrency", "\(concurrency)", "--connect-timeout", "\(connectTimeout)", "--worker", "\(index)",
        ]
        if let rate { arguments += ["--rate", "\(rate * Double(share) / Double(connections))"] }
        if text { arguments.append("--text") }
        return arguments
    }

    private func makeReport(_ result: RunResult, cpuBefore: Double?, cpuAfter: Double?) -> EchoReport {
        // Only whole seconds enter the median; a trailing partial second would drag it down.
        let wholeSeconds = max(1, Int(duration))
        let cpu = cpuBefore.flatMap { before in cpuAfter.map { $0 - before } }
        return EchoReport(
            url: url,
            mode: rate == nil ? "closed loop, \(pipeline) in flight per connection" : "open loop",
            connections: connections,
            connectionsOpened: result.connectionsOpened,
            processes: processes,
            threads: threads,
            sizeBytes: size,
            text: text,
            pipeline: pipeline,
            offeredRate: rate,
            warmupSeconds: warmup,
            durationSeconds: duration,
            messagesSent: result.messagesSent,
            messagesMeasured: result.messagesMeasured,
            messagesPerSecondMedian: median(Array(result.perSecond.prefix(wholeSeconds))),
            messagesPerSecondOverall: Double(result.messagesMeasured) / duration,
            perSecond: result.perSecond,
            latencyMicroseconds: LatencySummary(result.histogram()),
            serverCPUSeconds: cpu,
            serverCPUMicrosecondsPerEcho: cpu.flatMap { result.messagesMeasured > 0 ? $0 * 1e6 / Double(result.messagesMeasured) : nil },
            errors: ErrorCounts(result)
        )
    }
}
