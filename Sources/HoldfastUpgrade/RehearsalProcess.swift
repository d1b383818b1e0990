import CHoldfast
import Glibc
import HoldfastCore

/// How a rehearsal process ended.
public enum RehearsalTermination: Sendable, Equatable {
    /// It exited with this status.
    case exited(Int32)
    /// A signal killed it.
    case signaled(Int32)
}

/// A short-lived child process fed `input` on its standard input, whose standard output and error are collected
/// until it exits or a deadline passes (then it is killed with SIGKILL and reaped). The calling thread blocks in
/// `poll`; nothing else of the process is touched, so the caller must not run it on an event loop.
///
/// The caller's process ignores SIGPIPE (the server does from its start): a child that exits without reading
/// its input turns the write into EPIPE, not a signal.
struct RehearsalProcess {
    typealias Termination = RehearsalTermination

    /// What the run produced.
    struct Outcome: Sendable {
        var output: [UInt8]
        /// The last ``errorLimit`` bytes of its standard error.
        var errorTail: [UInt8]
        var termination: Termination
        /// True when the deadline killed it.
        var timedOut: Bool
        var elapsedMilliseconds: Double
    }

    struct SpawnFailed: Error, CustomStringConvertible {
        let description: String
    }

    static let outputLimit = 1 << 20
    static let errorLimit = 4096

    /// Runs `path` with `arguments` (argv[1...]) and `environment` (`NAME=value`).
    static func run(
        path: String, argv0: String, arguments: [String], environment: [String], input: [UInt8],
        timeoutMilliseconds: Int
    ) throws(SpawnFailed) -> Outcome {
        let started = (Double(MonotonicClock.nowNanoseconds()) / 1e6)
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard holdfast_pipe(&stdinPipe) == 0 else { throw SpawnFailed(description: "pipe: \(errnoText())") }
        guard holdfast_pipe(&stdoutPipe) == 0 else {
            closeAll(stdinPipe)
            throw SpawnFailed(description: "pipe: \(errnoText())")
        }
        guard holdfast_pipe(&stderrPipe) == 0 else {
            closeAll(stdinPipe + stdoutPipe)
            throw SpawnFailed(description: "pipe: \(errnoText())")
        }
        var argv: [UnsafeMutablePointer<CChar>?] = ([argv0] + arguments).map { strdup($0) }
        argv.append(nil)
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) }
        envp.append(nil)
        let pid = holdfast_spawn_stdio(path, argv, envp, stdinPipe[0], stdoutPipe[1], stderrPipe[1])
        let spawnErrno = errno
        argv.forEach { free($0) }
        envp.forEach { free($0) }
        // The child's ends belong to the child now.
        closeAll([stdinPipe[0], stdoutPipe[1], stderrPipe[1]])
        guard pid > 0 else {
            closeAll([stdinPipe[1], stdoutPipe[0], stderrPipe[0]])
            throw SpawnFailed(description: "posix_spawn \(path): \(String(cString: strerror(spawnErrno)))")
        }
        var pump = Pump(input: input, stdinFD: stdinPipe[1], stdoutFD: stdoutPipe[0], stderrFD: stderrPipe[0])
        let deadline = started + Double(timeoutMilliseconds)
        var termination: Termination?
        var timedOut = false
        while termination == nil {
            let remaining = deadline - (Double(MonotonicClock.nowNanoseconds()) / 1e6)
            if remaining <= 0 {
                timedOut = true
                kill(pid, SIGKILL)
                termination = reap(pid, block: true)
                break
            }
            if pump.isOpen {
                pump.step(timeoutMilliseconds: Int32(min(remaining, 1_000).rounded(.up)))
            } else {
                // Both outputs closed: the child is exiting (or closed them and runs on); look every few ms.
                termination = reap(pid, block: false)
                if termination == nil { poll(nil, 0, 5) }
            }
        }
        pump.closeAll()
        return Outcome(
            output: pump.output, errorTail: pump.errorTail, termination: termination ?? .signaled(SIGKILL),
            timedOut: timedOut, elapsedMilliseconds: (Double(MonotonicClock.nowNanoseconds()) / 1e6) - started)
    }

    private static func reap(_ pid: pid_t, block: Bool) -> Termination? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, block ? 0 : WNOHANG)
            if result == pid { break }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            return .exited(-1)  // ECHILD: reaped elsewhere; nothing more to learn
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { close(fd) }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Feeds the child's input and drains its two outputs with one `poll` per step.
private struct Pump {
    let input: [UInt8]
    var written = 0
    var stdinFD: Int32
    var stdoutFD: Int32
    var stderrFD: Int32
    var output: [UInt8] = []
    var errorTail: [UInt8] = []

    init(input: [UInt8], stdinFD: Int32, stdoutFD: Int32, stderrFD: Int32) {
        self.input = input
        self.stdinFD = stdinFD
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
        for fd in [stdinFD, stdoutFD, stderrFD] { holdfast_set_nonblocking(fd) }
        if input.isEmpty { closeInput() }
    }

    /// True while either output may still bring bytes.
    var isOpen: Bool { stdoutFD >= 0 || stderrFD >= 0 }

    mutating func step(timeoutMilliseconds: Int32) {
        var fds = [
            pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0),
            pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0),
        ]
        // poll ignores negative fds, so closed ones stay in place.
        let ready = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
        guard ready > 0 else { return }
        if fds[0].revents != 0 { writeInput() }
        if fds[1].revents != 0 {
            Self.drain(&stdoutFD, into: &output, limit: RehearsalProcess.outputLimit, keepTail: false)
        }
        if fds[2].revents != 0 {
            Self.drain(&stderrFD, into: &errorTail, limit: RehearsalProcess.errorLimit, keepTail: true)
        }
    }

    private mutating func writeInput() {
        while written < input.count {
            let count = input[written...].withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
            if count > 0 {
                written += count
            } else if count < 0 && errno == EINTR {
                continue
            } else if count < 0 && errno == EAGAIN {
                return
            } else {
                break  // EPIPE: the child stopped reading; it will say why
            }
        }
        closeInput()
    }

    private mutating func closeInput() {
        if stdinFD >= 0 { close(stdinFD) }
        stdinFD = -1
    }

    private static func drain(_ fd: inout Int32, into buffer: inout [UInt8], limit: Int, keepTail: Bool) {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                if keepTail {
                    buffer += chunk[..<count]
                    if buffer.count > limit { buffer.removeFirst(buffer.count - limit) }
                } else if buffer.count < limit {
                    buffer += chunk[..<min(count, limit - buffer.count)]
                }
            } else if count < 0 && errno == EINTR {
                continue
            } else if count < 0 && errno == EAGAIN {
                return
            } else {
                close(fd)  // end of stream (or an error: nothing more will come)
                fd = -1
                return
            }
        }
    }

    mutating func closeAll() {
        closeInput()
        for fd in [stdoutFD, stderrFD] where fd >= 0 { close(fd) }
        stdoutFD = -1
        stderrFD = -1
    }
}
