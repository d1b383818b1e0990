import Glibc

/// The child side of ``PluginValidator``: the body of `holdfast validate-plugin`.
public enum RehearsalChild {
    /// Reads a ``SwapRehearsal`` from standard input, runs it and writes the ``RehearsalReport`` on standard
    /// output; returns the exit status (0 passed, 1 refused, 2 unreadable request). Standard output is kept for
    /// the report alone: fd 1 is pointed at standard error first, so whatever plugin code prints cannot corrupt it.
    public static func main() -> Int32 {
        let report = dup(1)
        guard report >= 0, dup2(2, 1) == 1 else { return 2 }
        let input = readAll(0)
        let rehearsal: SwapRehearsal
        do {
            rehearsal = try SwapRehearsal(decoding: input)
        } catch {
            writeAll(2, "holdfast validate-plugin reads a swap rehearsal from the server on standard input: \(error)\n")
            return 2
        }
        do throws(PluginUpgradeError) {
            let summary = try rehearsal.run { step in writeAll(report, RehearsalReport.line(starting: step)) }
            writeAll(report, RehearsalReport.line(passed: summary))
            return 0
        } catch {
            writeAll(report, RehearsalReport.line(refused: error.check, reason: error.description))
            return 1
        }
    }

    private static func readAll(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                result += chunk[..<count]
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return result
            }
        }
    }

    /// Unbuffered, so a line written before a trap is not lost with the process.
    private static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            bytes = bytes.dropFirst(count)
        }
    }
}
