import Foundation

/// A counter the server keeps of its own deliveries, read over HTTP as Prometheus text.
///
/// Dividing the server's CPU by the deliveries the clients received in a window charges a server that runs ahead
/// of its clients, into the sockets' buffers, for work the window does not count: the faster it runs ahead, the
/// dearer each delivery looks. The server's own count over the same window is the fair divisor. Holdfast counts
/// `holdfast_broadcast_deliveries_total`; the uWebSockets peer counts each publish times the topic's subscribers.
struct ServerDeliveryCounter {
    let client: AdminClient
    let path: String
    let metric: String

    /// `url` is `http://HOST:PORT/PATH`; `metric` names the counter (its labelled series, if any, are summed).
    init(url: String, metric: String) throws(BenchError) {
        let target = try Target(url: url, schemes: ["http"])
        client = AdminClient(target: target, token: "")
        path = target.path
        self.metric = metric
    }

    /// The counter's value now, or nil when the server does not answer 200 or does not have it.
    func read() -> UInt64? {
        guard let response = try? client.request("GET", path, timeout: 2), response.status == 200 else { return nil }
        return Self.value(of: metric, in: response.body)
    }

    /// The sum of `metric`'s samples in Prometheus text `text` (nil when it has none).
    static func value(of metric: String, in text: String) -> UInt64? {
        var total: UInt64?
        for line in text.split(separator: "\n") where line.hasPrefix(metric) {
            let rest = line.dropFirst(metric.count)
            guard let next = rest.first, next == " " || next == "{" else { continue }
            guard let field = rest.split(separator: " ").last, let value = Double(field), value >= 0 else { continue }
            total = (total ?? 0) + UInt64(value)
        }
        return total
    }
}

/// `perf stat` counting one process's system calls over a span, by tracepoint (it needs perf and the privilege
/// to trace another process, as root has).
///
/// Messages per write is what a fan-out's cost follows (docs/performance.md, "CPU per delivery against the
/// delivery rate"), so the broadcast report sets the server's writes beside its deliveries.
final class SyscallCounter {
    /// The system calls counted: those a server writes a socket with, then its waits and reads.
    static let writeCalls = ["sendto", "sendmsg", "writev", "write"]
    static let calls = writeCalls + ["epoll_wait", "recvfrom", "read"]

    private let process = Process()
    private let output: String

    /// Starts counting `pid`'s calls; nil when perf cannot be started.
    init?(pid: Int32) {
        output = NSTemporaryDirectory() + "holdfast-bench-perf-\(getpid())-\(pid).csv"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let events = Self.calls.map { "syscalls:sys_enter_\($0)" }.joined(separator: ",")
        process.arguments = ["perf", "stat", "-x", ",", "-e", events, "-p", "\(pid)", "-o", output]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
    }

    /// Stops perf and returns the counts by call name (empty when perf counted nothing, e.g. without privilege).
    func stop() -> [String: UInt64] {
        if process.isRunning { process.interrupt() }
        process.waitUntilExit()
        defer { unlink(output) }
        guard let text = try? String(contentsOfFile: output, encoding: .utf8) else { return [:] }
        return Self.parse(text)
    }

    /// Counts from perf's CSV: `VALUE,UNIT,syscalls:sys_enter_NAME,...`.
    static func parse(_ text: String) -> [String: UInt64] {
        var counts: [String: UInt64] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count > 2, let value = UInt64(fields[0]), fields[2].hasPrefix("syscalls:sys_enter_") else {
                continue
            }
            counts[String(fields[2].dropFirst("syscalls:sys_enter_".count))] = value
        }
        return counts
    }
}
