/// Which answer of the new process the old one waits for.
public enum HandoffStep: String, Sendable, Equatable, CaseIterable {
    /// READY: the new process started.
    case ready
    /// STAGED: the new process built a staging or catch-up round.
    case staged
    /// DONE: the new process rebuilt everything.
    case done

    /// The message's name, as the reasons spell it.
    public var message: String { rawValue.uppercased() }
}

/// Why a binary upgrade did not happen. Every case but the first two is an attempt that rolled back: the old
/// process keeps serving. Each case knows its HTTP status and its wire code (the `check` of the admin answer
/// and of the `/admin/status` upgrade record), which operators and tests rely on.
public enum HandoffFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// 503 `not_started`: the server does not serve yet.
    case notStarted
    /// 409 `upgrade_in_progress`: another upgrade or rollback runs.
    case upgradeInProgress
    /// 400 `bad_request`: no binary path was given.
    case noBinaryPath
    /// 422 `binary_missing`: the path does not resolve.
    case binaryMissing(path: String, reason: String)
    /// 422 `binary_not_executable`: the binary cannot be executed.
    case binaryNotExecutable(binary: String, reason: String)
    /// 500 `channel_failed`: the handoff channel could not be created.
    case channelFailed(reason: String)
    /// 422 `spawn_failed`: the new binary could not be started.
    case spawnFailed(binary: String, reason: String)
    /// 504 `<step>_timeout`: the new process did not answer in time.
    case noAnswer(HandoffStep, afterMilliseconds: Int)
    /// 502 `<step>_failed`: the new process exited before answering; `status` says how.
    case childExited(HandoffStep, status: String)
    /// 502 `<step>_failed`: the channel closed or broke while an answer was awaited.
    case channelBroken(HandoffStep, reason: String)
    /// 502 `<step>_failed`: the new process answered something else.
    case unexpectedAnswer(HandoffStep, HandoffControl)
    /// 502 `rebuild_failed`: the new process reported FAILED.
    case rebuildFailed(reason: String)
    /// 502 `send_failed`: a record stream could not be sent; `reason` says which and why.
    case sendFailed(reason: String)
    /// 502 `commit_failed`: COMMIT could not be sent.
    case commitFailed(reason: String)
    /// 500 `loops_unresponsive`: an event loop did not answer in time.
    case loopsUnresponsive(reason: String)
    /// 503 `not_quiescent`: history writes or room work kept going.
    case notQuiescent(reason: String)
    /// 503 `rooms_unresponsive`: not every room answered in time.
    case roomsUnresponsive(reason: String)
    /// 503 `rooms_busy`: rooms still had messages in flight (their topics).
    case roomsBusy(topics: [String])
    /// 504 `step_stalled`: a step of the process handing over ran past `upgrade.step_timeout_ms`; its watchdog
    /// abandoned it (`step` names it).
    case stalled(step: String, afterMilliseconds: Int)
    /// 500 `out_of_order`: the server fed the protocol an event it did not expect (a bug, never the peer).
    case outOfOrder(reason: String)

    /// The HTTP status of the admin answer.
    public var status: Int {
        switch self {
        case .noBinaryPath: 400
        case .upgradeInProgress: 409
        case .binaryMissing, .binaryNotExecutable, .spawnFailed: 422
        case .channelFailed, .loopsUnresponsive, .outOfOrder: 500
        case .childExited, .channelBroken, .unexpectedAnswer, .rebuildFailed, .sendFailed, .commitFailed: 502
        case .notStarted, .notQuiescent, .roomsUnresponsive, .roomsBusy: 503
        case .noAnswer, .stalled: 504
        }
    }

    /// The wire code: which check failed.
    public var code: String {
        switch self {
        case .notStarted: "not_started"
        case .upgradeInProgress: "upgrade_in_progress"
        case .noBinaryPath: "bad_request"
        case .binaryMissing: "binary_missing"
        case .binaryNotExecutable: "binary_not_executable"
        case .channelFailed: "channel_failed"
        case .spawnFailed: "spawn_failed"
        case .noAnswer(let step, _): "\(step.rawValue)_timeout"
        case .childExited(let step, _), .channelBroken(let step, _), .unexpectedAnswer(let step, _):
            "\(step.rawValue)_failed"
        case .rebuildFailed: "rebuild_failed"
        case .sendFailed: "send_failed"
        case .commitFailed: "commit_failed"
        case .loopsUnresponsive: "loops_unresponsive"
        case .notQuiescent: "not_quiescent"
        case .roomsUnresponsive: "rooms_unresponsive"
        case .roomsBusy: "rooms_busy"
        case .stalled: "step_stalled"
        case .outOfOrder: "out_of_order"
        }
    }

    /// What happened and what to do, for the operator.
    public var reason: String {
        switch self {
        case .notStarted: "the server is not serving yet"
        case .upgradeInProgress: "another upgrade or rollback is running: retry when it has finished"
        case .noBinaryPath: "no binary path given"
        case .binaryMissing(let path, let reason):
            "cannot use \(path): \(reason); give the absolute path of a holdfast binary"
        case .binaryNotExecutable(let binary, let reason): "\(binary) is not executable: \(reason)"
        case .channelFailed(let reason): "cannot create the handoff channel: \(reason)"
        case .spawnFailed(let binary, let reason): "cannot start \(binary): \(reason)"
        case .noAnswer(let step, let milliseconds):
            "the new binary did not answer \(step.message) within \(milliseconds) ms"
        case .childExited(let step, let status):
            "the new binary \(status) before answering \(step.message); see its log lines above"
        case .channelBroken(let step, let reason):
            "handoff channel failed while waiting for \(step.message): \(reason)"
        case .unexpectedAnswer(let step, let answer): "the new binary answered \(answer) instead of \(step.message)"
        case .rebuildFailed(let reason): "the new binary could not take over: \(reason)"
        case .sendFailed(let reason), .loopsUnresponsive(let reason), .notQuiescent(let reason),
            .roomsUnresponsive(let reason), .outOfOrder(let reason):
            reason
        case .commitFailed(let reason): "could not tell the new binary to take over: \(reason)"
        case .roomsBusy(let topics):
            "rooms still had messages in flight: \(topics.prefix(5).joined(separator: ", "))"
        case .stalled(let step, let milliseconds):
            "this process's step \(step) ran for more than \(milliseconds) ms (upgrade.step_timeout_ms); its watchdog "
                + "abandoned it"
        }
    }

    /// `code: reason`, as the upgrade record's `error` field carries it.
    public var description: String { "\(code): \(reason)" }
}
