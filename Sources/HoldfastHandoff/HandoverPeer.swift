import Glibc
public import HoldfastCore

/// The old process's dealings with the new one that involve no state of its own: checking the binary, and
/// waiting for answers on the channel while watching the process.
public enum HandoverPeer {
    /// The binary at `path`, resolved to an absolute path without links, if it exists and may be executed.
    public static func checkedBinary(_ path: String) throws(HandoffFailure) -> String {
        guard !path.isEmpty else { throw .noBinaryPath }
        guard let resolved = realpath(path, nil) else {
            throw .binaryMissing(path: path, reason: SystemError("realpath").reason)
        }
        defer { free(resolved) }
        let binary = String(cString: resolved)
        guard access(binary, X_OK) == 0 else {
            throw .binaryNotExecutable(binary: binary, reason: SystemError("access").reason)
        }
        return binary
    }

    /// Creates the handoff channel and starts `binary` with its end as fd 3, this process's command line and the
    /// successor's environment (so it reads the same configuration), argv[0] being `argv0`; returns this end.
    public static func spawn(_ binary: String, argv0: String) throws(HandoffFailure) -> (HandoffChannel, ChildProcess) {
        let (mine, theirs): (HandoffChannel, HandoffChannel)
        do {
            (mine, theirs) = try HandoffChannel.makePair()
        } catch {
            throw .channelFailed(reason: "\(error)")
        }
        defer { theirs.close() }
        do {
            let child = try ChildProcess.spawn(
                path: binary, argv0: argv0, arguments: Array(CommandLine.arguments[1...]),
                environment: HandoffFeatures.successorEnvironment(), inherit: theirs.fd)
            return (mine, child)
        } catch {
            mine.close()
            throw .spawnFailed(binary: binary, reason: "\(error)")
        }
    }

    /// Waits up to `timeoutMilliseconds` for the new process's next control message, checking every 50 ms
    /// whether it exited: the event the handover machine takes, whichever happened.
    public static func awaitAnswer(
        on channel: HandoffChannel, from child: ChildProcess, timeoutMilliseconds timeout: Int
    ) -> HandoverMachine.Event {
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeout)
        while true {
            let left = Int(deadline - MonotonicClock.nowMilliseconds())
            guard left > 0 else { return .timedOut(afterMilliseconds: timeout) }
            do {
                return .received(try HandoffControl.receive(on: channel, timeoutMilliseconds: min(left, 50)))
            } catch .timeout {
                if let status = child.exitStatus() { return .childExited(status) }
            } catch {
                let status = child.exitStatus().map { " (it \($0))" } ?? ""
                return .channelFailed("\(error)\(status)")
            }
        }
    }

    /// Committed: whether ACK comes within `timeoutMilliseconds` (the process may exit right after sending it).
    public static func awaitAck(on channel: HandoffChannel, timeoutMilliseconds: Int) -> HandoverMachine.Event {
        do {
            return .received(try HandoffControl.receive(on: channel, timeoutMilliseconds: timeoutMilliseconds))
        } catch .timeout {
            return .timedOut(afterMilliseconds: timeoutMilliseconds)
        } catch {
            return .channelFailed("\(error)")
        }
    }
}
