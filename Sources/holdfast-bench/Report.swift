import Foundation
import Histogram

/// Failure counts every report carries.
struct ErrorCounts: Codable {
    var connectFailures: Int
    var unexpectedCloses: Int
    var protocolViolations: Int
    var badEchoes: Int
    /// Distinct error messages with their counts.
    var samples: [String: Int]

    init(_ result: RunResult) {
        connectFailures = result.connectFailures
        unexpectedCloses = result.unexpectedCloses
        protocolViolations = result.protocolViolations
        badEchoes = result.badEchoes
        samples = result.errorSamples
    }

    /// One line for the human summary.
    var summary: String {
        "connect failures \(connectFailures), unexpected closes \(unexpectedCloses), "
            + "protocol violations \(protocolViolations), bad echoes \(badEchoes)"
    }
}

/// Round-trip latency percentiles in microseconds.
struct LatencySummary: Codable {
    var p50: Double
    var p90: Double
    var p99: Double
    var p999: Double
    var max: Double
    var mean: Double

    init(_ histogram: Histogram<UInt64>) {
        func micros(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1000 }
        let empty = histogram.totalCount == 0
        p50 = empty ? 0 : micros(histogram.valueAtPercentile(50))
        p90 = empty ? 0 : micros(histogram.valueAtPercentile(90))
        p99 = empty ? 0 : micros(histogram.valueAtPercentile(99))
        p999 = empty ? 0 : micros(histogram.valueAtPercentile(99.9))
        max = empty ? 0 : micros(histogram.max)
        mean = empty ? 0 : histogram.mean / 1000
    }
}

/// The `echo` scenario's report.
struct EchoReport: Codable {
    var scenario = "echo"
    var url: String
    var mode: String
    var connections: Int
    var connectionsOpened: Int
    var processes: Int
    var threads: Int
    var sizeBytes: Int
    var text: Bool
    var pipeline: Int
    var offeredRate: Double?
    var warmupSeconds: Double
    var durationSeconds: Double
    var messagesSent: UInt64
    var messagesMeasured: UInt64
    /// The median over the window's whole seconds of the answers received in each.
    var messagesPerSecondMedian: Double
    /// All answers in the window divided by its length.
    var messagesPerSecondOverall: Double
    var perSecond: [UInt64]
    var latencyMicroseconds: LatencySummary
    var serverCPUSeconds: Double?
    var serverCPUMicrosecondsPerEcho: Double?
    /// CPU time of the client processes in the window: near the window's length per client core, the client is
    /// the limit.
    var clientCPUSeconds: Double?
    var errors: ErrorCounts

    /// The human summary.
    var summary: String {
        var lines = [
            "echo \(url): \(mode), \(connectionsOpened)/\(connections) connections, \(processes) process(es) × "
                + "\(threads) thread(s), \(sizeBytes)-byte \(text ? "text" : "binary") messages",
            String(
                format: "  window %.1f s after %.1f s warm-up: %llu echoes", durationSeconds, warmupSeconds,
                messagesMeasured),
            String(
                format: "  messages/s: median %.0f, overall %.0f", messagesPerSecondMedian, messagesPerSecondOverall),
            String(
                format: "  latency µs: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f",
                latencyMicroseconds.p50, latencyMicroseconds.p90, latencyMicroseconds.p99,
                latencyMicroseconds.p999, latencyMicroseconds.max
            ),
        ]
        if let serverCPUSeconds {
            lines.append(
                String(
                    format: "  server CPU: %.3f s, %.2f µs per echo", serverCPUSeconds,
                    serverCPUMicrosecondsPerEcho ?? 0))
        }
        if let clientCPUSeconds { lines.append(String(format: "  client CPU: %.3f s", clientCPUSeconds)) }
        lines.append("  errors: " + errors.summary)
        for (message, count) in errors.samples.sorted(by: { $0.value > $1.value }) {
            lines.append("    \(count)× \(message)")
        }
        return lines.joined(separator: "\n")
    }
}

/// The `idle` scenario's report.
struct IdleReport: Codable {
    var scenario = "idle"
    var url: String
    var connections: Int
    var connectionsOpened: Int
    /// Connections meant to use TLS, and those of them that opened.
    var tlsConnections: Int
    var tlsOpened: Int
    var processes: Int
    var threads: Int
    var concurrency: Int
    var holdSeconds: Double
    var connectSeconds: Double
    var handshakesPerSecond: Double
    var serverRSSBeforeKiB: Int
    var serverRSSAfterKiB: Int
    var kibPerConnection: Double
    var errors: ErrorCounts

    /// The human summary.
    var summary: String {
        var lines = [
            "idle \(url): \(connectionsOpened)/\(connections) connections (\(tlsOpened)/\(tlsConnections) TLS), "
                + "\(processes) process(es) × \(threads) thread(s)",
            String(
                format: "  connect: %.2f s, %.0f handshakes/s (%d in progress at most per process)", connectSeconds,
                handshakesPerSecond, concurrency),
            String(
                format: "  server RSS: %d KiB before, %d KiB after %.1f s hold: %.2f KiB per connection",
                serverRSSBeforeKiB, serverRSSAfterKiB, holdSeconds, kibPerConnection
            ),
            "  errors: " + errors.summary,
        ]
        for (message, count) in errors.samples.sorted(by: { $0.value > $1.value }) {
            lines.append("    \(count)× \(message)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Writes `report` as pretty JSON to `path`.
func writeJSON(_ report: some Encodable, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(report).write(to: URL(fileURLWithPath: path))
}

/// The median of `values` (0 when empty).
func median(_ values: [UInt64]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? Double(sorted[middle]) : Double(sorted[middle - 1] + sorted[middle]) / 2
}

/// A duration's p50, p99 and max in milliseconds (reconnect times).
struct MillisecondSummary: Codable {
    var count: UInt64
    var p50: Double
    var p99: Double
    var max: Double

    init(_ histogram: Histogram<UInt64>) {
        func millis(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e6 }
        count = histogram.totalCount
        let empty = histogram.totalCount == 0
        p50 = empty ? 0 : millis(histogram.valueAtPercentile(50))
        p99 = empty ? 0 : millis(histogram.valueAtPercentile(99))
        max = empty ? 0 : millis(histogram.max)
    }

    var line: String {
        String(format: "p50 %.1f  p99 %.1f  max %.1f (%llu)", p50, p99, max, count)
    }
}
