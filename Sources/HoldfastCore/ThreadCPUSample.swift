import CHoldfast
import Glibc

/// Every thread of this process at one moment: its name, the CPU time it ran (`/proc/self/task/TID/schedstat`,
/// nanoseconds), the time it waited runnable for a core, and its user and system ticks (`stat`, 1/100 s). Two
/// samples tell which thread spent a step's CPU and whether in user or kernel code; a step's process-wide CPU time
/// alone cannot tell a room's export from a loop's queued writes or the history thread. Reading it costs two
/// files per thread (tens of µs for a server's dozen threads), so it is taken only when asked for.
public struct ThreadCPUSample: Sendable {
    /// One thread's counters.
    public struct Thread: Sendable {
        public var name: String
        public var runNanoseconds: UInt64
        public var waitNanoseconds: UInt64
        public var userTicks: UInt64
        public var systemTicks: UInt64
    }

    /// By thread id.
    public private(set) var threads: [Int32: Thread] = [:]
    /// The thread that took the sample.
    public let takenBy: Int32

    /// Reads every thread of this process now.
    public init() {
        takenBy = holdfast_gettid()
        guard let directory = opendir("/proc/self/task") else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let tid = Int32(name) else { continue }
            if let thread = Self.read(tid) { threads[tid] = thread }
        }
    }

    private static func read(_ tid: Int32) -> Thread? {
        guard let stat = Self.file("/proc/self/task/\(tid)/stat"), let open = stat.firstIndex(of: "("),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let name = String(stat[stat.index(after: open)..<close])
        // After ") ": state is field 3, utime 14 and stime 15 (proc(5)).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12 else { return nil }
        let sched = Self.file("/proc/self/task/\(tid)/schedstat")?.split(separator: " ") ?? []
        return Thread(
            name: name, runNanoseconds: sched.first.flatMap { UInt64($0) } ?? 0,
            waitNanoseconds: sched.count > 1 ? UInt64(sched[1]) ?? 0 : 0,
            userTicks: UInt64(fields[11]) ?? 0, systemTicks: UInt64(fields[12]) ?? 0)
    }

    private static func file(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// What each thread spent since `earlier`, busiest first, threads below `minimumMilliseconds` of CPU left out:
    /// `name/tid:cpu=ms,wait=ms,u=ticks,s=ticks` joined by `;` (the sampling thread is named `upgrade`).
    public func spent(since earlier: ThreadCPUSample, minimumMilliseconds: Double = 0.5) -> String {
        var rows: [(Double, String)] = []
        for (tid, now) in threads {
            let before = earlier.threads[tid]
            let cpu = Double(now.runNanoseconds &- (before?.runNanoseconds ?? 0)) / 1e6
            guard cpu >= minimumMilliseconds else { continue }
            let wait = Double(now.waitNanoseconds &- (before?.waitNanoseconds ?? 0)) / 1e6
            let user = now.userTicks &- (before?.userTicks ?? 0)
            let system = now.systemTicks &- (before?.systemTicks ?? 0)
            let name = tid == takenBy ? "upgrade" : now.name
            let counts = "cpu=\(Self.rounded(cpu)),wait=\(Self.rounded(wait)),u=\(user),s=\(system)"
            rows.append((cpu, "\(name)/\(tid):\(counts)"))
        }
        return rows.sorted { $0.0 > $1.0 }.map(\.1).joined(separator: ";")
    }

    private static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
}

/// Names the calling thread (at most 15 bytes show), so `top -H`, `perf` and ``ThreadCPUSample`` tell threads
/// apart.
public func nameThisThread(_ name: String) {
    holdfast_name_thread(name)
}
