public import HoldfastCore

/// Why a handoff send or receive failed.
public enum HandoffChannelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer closed its end (end of stream on receive, `EPIPE`/`ECONNRESET` on send), or this end was closed.
    case closed
    /// The deadline passed before the message could be sent or before one arrived.
    case timeout
    /// The kernel set `MSG_CTRUNC`: it dropped some of the message's fds, usually because the receiver's
    /// `RLIMIT_NOFILE` was too low (see ``ProcessLimits/raiseFileLimit()``). The `received` fds that did arrive
    /// have already been closed, so the whole message is lost.
    case truncatedFds(received: Int)
    /// The message was larger than ``HandoffChannel/maxPayload`` and its tail was discarded (`MSG_TRUNC`); any
    /// fds it carried have been closed.
    case truncatedPayload
    /// More fds than ``HandoffChannel/maxFdsPerMessage`` were passed to one send; nothing was sent.
    case tooManyFds(Int)
    /// A payload larger than ``HandoffChannel/maxPayload`` was passed to one send; nothing was sent.
    case payloadTooLarge(Int)
    /// A message did not follow the handoff format (unknown header, inconsistent record framing). Any fds it
    /// carried have been closed.
    case malformed(String)
    /// Any other failed system call.
    case system(SystemError)

    /// What failed, for the log and the reasons built on it.
    public var description: String {
        switch self {
        case .closed: "handoff channel closed"
        case .timeout: "handoff channel timed out"
        case .truncatedFds(let received):
            "handoff message lost fds (MSG_CTRUNC, \(received) arrived and were closed); raise RLIMIT_NOFILE"
        case .truncatedPayload: "handoff message larger than \(HandoffChannel.maxPayload) bytes (MSG_TRUNC)"
        case .tooManyFds(let count): "\(count) fds in one handoff message (at most \(HandoffChannel.maxFdsPerMessage))"
        case .payloadTooLarge(let count):
            "handoff payload of \(count) bytes (at most \(HandoffChannel.maxPayload) per message)"
        case .malformed(let reason): "malformed handoff message: \(reason)"
        case .system(let error): error.description
        }
    }
}
