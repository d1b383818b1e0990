import CHoldfast
import Glibc

/// A process this one started for a binary upgrade: the new server binary, given one end of the handoff channel
/// as fd 3.
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let pid: Int32

    private init(pid: Int32) { self.pid = pid }

    /// Starts `path` with `argv0` and `arguments` (argv[1...]) and `environment` (`NAME=value` entries), passing
    /// `inherit` as its fd 3 and no other fd above stderr; see `holdfast_spawn` for the details.
    ///
    /// - Throws: ``SystemError`` when the kernel refuses to start it (missing file `ENOENT`, not executable
    ///   `EACCES`, not a binary `ENOEXEC`, ...). A binary that starts and then fails shows up later, through
    ///   ``exitStatus()``.
    public static func spawn(
        path: String, argv0: String? = nil, arguments: [String], environment: [String], inherit: Int32
    ) throws(SystemError) -> ChildProcess {
        var argv: [UnsafeMutablePointer<CChar>?] = ([argv0 ?? path] + arguments).map { strdup($0) }
        argv.append(nil)
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) }
        envp.append(nil)
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let pid = holdfast_spawn(path, argv, envp, inherit)
        guard pid > 0 else { throw SystemError("posix_spawn \(path)") }
        return ChildProcess(pid: pid)
    }

    /// How the child ended, if it has (reaps it); nil while it runs.
    public func exitStatus() -> String? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return result < 0 ? "gone" : nil }
        return Self.describe(status)
    }

    /// Kills the child (SIGKILL) and waits until it is gone, so nothing it inherited can still be used.
    public func killAndReap() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    private static func describe(_ status: Int32) -> String {
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (they are macros).
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        return "killed by signal \(signal)"
    }
}
