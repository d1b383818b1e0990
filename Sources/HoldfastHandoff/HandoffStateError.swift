/// Why handed-over state could not be read or rebuilt. The new process reports it to the old one, which then
/// rolls back.
public struct HandoffStateError: Error, Sendable, CustomStringConvertible {
    /// What was wrong with the state.
    public let reason: String

    /// An error for `reason`.
    public init(reason: String) {
        self.reason = reason
    }

    /// The reason, as the log and FAILED carry it.
    public var description: String { "unreadable handoff state: \(reason)" }
}
