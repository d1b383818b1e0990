import ArgumentParser
import Histogram
import HoldfastCore

/// `holdfast-bench echo`: round-trip latency and throughput of WebSocket echo.
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
    @Option(help: "Client processes (each holds connections/processes).") var processes = 1
    @Option(help: "Handshakes in progress at once, per process.") var concurrency = 256
    @Option(help: "Seconds allowed for opening all connections.") var connectTimeout = 30.0
    @Option(help: "Server process to charge CPU time to.") var serverPID: Int32?
    @Option(help: "Write a JSON report here.") var json: String?
    @Option(help: .hidden) var worker: Int?

    func validate() throws {
        guard connections > 0, threads > 0, processes > 0, pipeline > 0, duration > 0, warmup >= 0 else {
            throw ValidationError("connections, threads, processes, pipeline and duration must be positive")
        }
        guard size >= EchoPayload.minimumSize(text: text) else {
            throw ValidationError("--size must be at least \(EchoPayload.minimumSize(text: text)) to hold the timestamp")
        }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
    }

    func run() throws {
        raiseFileLimit()
        let target = try Target(url: url)
        let traffic = Traffic(size: size, text: text, pipeline: pipeline, rate: rate)
        let runner = try LoadRunner(target: target, connections: connections, threads: threads, concurrency: concurrency, traffic: traffic)
        runner.connect(timeout: connectTimeout)
        let start = MonotonicClock.nowNanoseconds() + 50_000_000
        let window = Window(
            warmupStart: start,
            measureStart: start + UInt64(warmup * 1e9),
            measureEnd: start + UInt64((warmup + duration) * 1e9)
        )
        runner.begin(window)
        sleep(untilNanoseconds: window.measureEnd + 100_000_000)
        let result = runner.finish(closeTimeout: 2)
        print(result.messagesMeasured, result.connectionsOpened, result.errorSamples)
        let histogram = result.histogram()
        print(histogram.valueAtPercentile(50) / 1000, histogram.valueAtPercentile(99) / 1000, histogram.max / 1000)
    }
}

struct IdleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "idle")
}
