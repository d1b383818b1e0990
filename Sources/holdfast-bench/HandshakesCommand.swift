import ArgumentParser
import Foundation
import HoldfastCore

/// `holdfast-bench handshakes`: the server's CPU time per WebSocket handshake.
///
/// Opens N connections with at most `--concurrency` handshakes in progress, and closes each one (close frame,
/// the server's close, EOF) as soon as its `101` arrives, so nothing is held open and the run is handshakes and
/// closes alone. The CPU time (user + system, from `/proc/PID/stat`) of every `--server-pid` (several for a
/// server made of processes, e.g. a TLS terminator and the server behind it) over the whole run, divided by the
/// handshakes completed, is the server CPU per handshake. With `--tls-share 1` every connection speaks TLS to
/// `--tls-url`, and the figure includes the TLS handshake.
struct HandshakesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handshakes",
        abstract: "Open and close N WebSocket connections; report the server's CPU time per handshake."
    )

    @Option(help: "WebSocket endpoint.") var url = "ws://127.0.0.1:4000/ws/echo"
    @Option(help: "Handshakes to complete (over all processes).") var connections = 10000
    @Option(
        name: .customLong("server-pid"),
        help: "A process of the server whose CPU time is charged to the handshakes (repeat for several).")
    var serverPIDs: [Int32] = []
    @Option(help: "Event loop threads per process.") var threads = 1
    @Option(help: "Client processes, each doing its share of the handshakes.") var processes = 1
    @Option(help: "Handshakes in progress at once, per process.") var concurrency = 64
    @Option(help: "Seconds allowed for all the handshakes.") var connectTimeout = 120.0
    @Option(help: "Write a JSON report to this file.") var json: String?
    @OptionGroup var tls: TLSOptions
    @Option(help: .hidden) var worker: Int?
    @Option(help: .hidden) var firstConnection = 0

    func validate() throws {
        try QuietFleet.validate(connections: connections, threads: threads, processes: processes, concurrency: concurrency)
    }

    func run() throws {
        raiseFileLimit()
        let plan = try QuietFleet(
            command: "handshakes", url: url, connections: connections, threads: threads, processes: processes,
            concurrency: concurrency, connectTimeout: connectTimeout, firstConnection: firstConnection, tls: tls,
            closeOnOpen: true)
        if try plan.serveAsWorker(worker) { return }
        let cpuBefore = try serverCPUSeconds()
        let fleet = try plan.connect()
        // Every connection is closed (or closing) by now; finishing waits until the last fd is gone.
        let result = try fleet.finish(closeTimeout: 5)
        let cpuAfter = try serverCPUSeconds()

        let seconds = result.connectEndNanoseconds > result.connectStartNanoseconds
            ? Double(result.connectEndNanoseconds - result.connectStartNanoseconds) / 1e9 : 0
        let opened = result.connectionsOpened
        let cpu = cpuAfter - cpuBefore
        let report = HandshakesReport(
            url: plan.reportedURL,
            connections: connections,
            handshakes: opened,
            tlsHandshakes: result.tlsOpened,
            processes: processes,
            threads: threads,
            concurrency: concurrency,
            seconds: seconds,
            handshakesPerSecond: seconds > 0 ? Double(opened) / seconds : 0,
            serverCPUSeconds: serverPIDs.isEmpty ? nil : cpu,
            serverCPUMicrosecondsPerHandshake: serverPIDs.isEmpty || opened == 0 ? nil : cpu * 1e6 / Double(opened),
            errors: ErrorCounts(result)
        )
        print(report.summary)
        if let json { try writeJSON(report, to: json) }
        if result.hasFailures { throw ExitCode(1) }
    }

    /// The CPU time of every server process so far.
    private func serverCPUSeconds() throws -> Double {
        try serverPIDs.reduce(0) { total, pid in
            guard let seconds = ProcStats.cpuSeconds(pid: pid) else {
                throw BenchError("cannot read the CPU time of process \(pid)")
            }
            return total + seconds
        }
    }
}

/// The `handshakes` scenario's report.
struct HandshakesReport: Codable {
    var scenario = "handshakes"
    var url: String
    var connections: Int
    /// Handshakes completed (each connection closed right after), and those of them over TLS.
    var handshakes: Int
    var tlsHandshakes: Int
    var processes: Int
    var threads: Int
    var concurrency: Int
    /// From the first connect to the last completed handshake.
    var seconds: Double
    var handshakesPerSecond: Double
    /// User + system CPU time of the server's processes over the run (nil without `--server-pid`).
    var serverCPUSeconds: Double?
    var serverCPUMicrosecondsPerHandshake: Double?
    var errors: ErrorCounts

    /// The human summary.
    var summary: String {
        var lines = [
            "handshakes \(url): \(handshakes)/\(connections) completed (\(tlsHandshakes) TLS), "
                + "\(processes) process(es) × \(threads) thread(s), \(concurrency) in progress at most per process",
            String(format: "  %.2f s, %.0f handshakes/s", seconds, handshakesPerSecond),
        ]
        if let serverCPUSeconds, let serverCPUMicrosecondsPerHandshake {
            lines.append(
                String(
                    format: "  server CPU: %.3f s, %.1f µs per handshake", serverCPUSeconds,
                    serverCPUMicrosecondsPerHandshake))
        }
        lines.append("  errors: " + errors.summary)
        for (message, count) in errors.samples.sorted(by: { $0.value > $1.value }) {
            lines.append("    \(count)× \(message)")
        }
        return lines.joined(separator: "\n")
    }
}
