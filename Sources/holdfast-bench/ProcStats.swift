import Foundation
import Glibc

/// Readings of another process from `/proc`, for the server's CPU time and memory.
enum ProcStats {
    /// User plus system CPU time of `pid` in seconds, from fields 14 and 15 of `/proc/PID/stat`.
    static func cpuSeconds(pid: Int32) -> Double? {
        cpuTimes(pid: pid).map { $0.user + $0.system }
    }

    /// User and system CPU seconds of `pid` so far (clock-tick resolution).
    static func cpuTimes(pid: Int32) -> (user: Double, system: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // The command name (field 2) may hold spaces and parentheses, so split only after its last ')'.
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so utime (14) and stime (15) sit at 11 and 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user / ticks, system / ticks)
    }

    /// Seconds the threads of `pid` have spent runnable but waiting for a CPU (the second field of each
    /// `/proc/PID/task/TID/schedstat`, summed). A process that gets little CPU time and waited little was idle
    /// (blocked, with nothing to do); one that waited much was starved by other work on its cores.
    static func runQueueWaitSeconds(pid: Int32) -> Double? {
        guard let directory = opendir("/proc/\(pid)/task") else { return nil }
        defer { closedir(directory) }
        var nanoseconds: UInt64 = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard Int(name) != nil,
                let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(name)/schedstat", encoding: .utf8)
            else { continue }
            let fields = text.split(separator: " ")
            if fields.count > 1, let waited = UInt64(fields[1]) { nanoseconds += waited }
        }
        return Double(nanoseconds) / 1e9
    }

    /// Resident set size of `pid` in KiB, from `VmRSS` in `/proc/PID/status`.
    static func residentKiB(pid: Int32) -> Int? { statusKiB(pid: pid, field: "VmRSS") }

    /// The part of the resident set that is anonymous memory (the heap, stacks), from `RssAnon`; the rest is
    /// mapped files (code of the binary and its libraries, a loaded plugin) and shared memory.
    static func residentAnonymousKiB(pid: Int32) -> Int? { statusKiB(pid: pid, field: "RssAnon") }

    /// A `kB` field of `/proc/PID/status`.
    private static func statusKiB(pid: Int32, field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        let prefix = field + ":"
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return Int(line.dropFirst(prefix.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
        }
        return nil
    }

    /// Open file descriptors of `pid`: the entries of `/proc/PID/fd`.
    static func openFiles(pid: Int32) -> Int? {
        guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            // "." and ".." are not descriptors.
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return count
    }
}
