import ArgumentParser
import HoldfastCore

/// `holdfast-bench idle`: the server's memory per idle WebSocket connection, and the handshake rate.
///
/// Reads the server's VmRSS, opens N connections with a bounded number of handshakes in progress, holds them
/// for `--hold` seconds, reads VmRSS again and charges the difference to the connections. With `--tls-share`,
/// that share of the connections goes to `--tls-url` instead (the average then mixes both kinds).
struct IdleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Open N idle connections and measure server memory per connection and the connect rate."
    )

    @Option(help: "WebSocket endpoint.") var url = "ws://127.0.0.1:4000/ws/echo"
    @Option(help: "Connections to open (over all processes).") var connections = 1000
    @Option(help: "Seconds to hold the connections before reading the server's memory.") var hold = 5.0
    @Option(name: .customLong("server-pid"), help: "Server process whose memory is measured.") var serverPID: Int32
    @Option(help: "Event loop threads per process.") var threads = 1
    @Option(help: "Client processes; each holds its share of the connections (at most ~19,000 fds each).")
    var processes = 1
    @Option(help: "Handshakes in progress at once, per process.") var concurrency = 256
    @Option(help: "Seconds allowed for opening all connections.") var connectTimeout = 120.0
    @Option(help: "Write a JSON report to this file.") var json: String?
    @OptionGroup var tls: TLSOptions
    @Option(help: .hidden) var worker: Int?
    @Option(help: .hidden) var firstConnection = 0

    func validate() throws {
        try QuietFleet.validate(connections: connections, threads: threads, processes: processes, concurrency: concurrency)
        guard hold >= 0 else { throw ValidationError("--hold must not be negative") }
    }

    func run() throws {
        raiseFileLimit()
        let plan = try QuietFleet(
            command: "idle", url: url, connections: connections, threads: threads, processes: processes,
            concurrency: concurrency, connectTimeout: connectTimeout, firstConnection: firstConnection, tls: tls,
            closeOnOpen: false)
        if try plan.serveAsWorker(worker) { return }
        guard let before = ProcStats.residentKiB(pid: serverPID) else {
            throw BenchError("cannot read VmRSS of process \(serverPID)")
        }
        let fleet = try plan.connect(extraArguments: ["--server-pid", "\(serverPID)"])
        sleep(untilNanoseconds: MonotonicClock.nowNanoseconds() + UInt64(hold * 1e9))
        let after = ProcStats.residentKiB(pid: serverPID)
        let result = try fleet.finish(closeTimeout: 5)
        guard let after else { throw BenchError("cannot read VmRSS of process \(serverPID) after the hold") }

        let connectSeconds = result.connectEndNanoseconds > result.connectStartNanoseconds
            ? Double(result.connectEndNanoseconds - result.connectStartNanoseconds) / 1e9 : 0
        let opened = result.connectionsOpened
        let report = IdleReport(
            url: url,
            connections: connections,
            connectionsOpened: opened,
            tlsConnections: result.tlsConnections,
            tlsOpened: result.tlsOpened,
            processes: processes,
            threads: threads,
            concurrency: concurrency,
            holdSeconds: hold,
            connectSeconds: connectSeconds,
            handshakesPerSecond: connectSeconds > 0 ? Double(opened) / connectSeconds : 0,
            serverRSSBeforeKiB: before,
            serverRSSAfterKiB: after,
            kibPerConnection: opened > 0 ? Double(after - before) / Double(opened) : 0,
            errors: ErrorCounts(result)
        )
        print(report.summary)
        if let json { try writeJSON(report, to: json) }
        if result.hasFailures { throw ExitCode(1) }
    }

}
