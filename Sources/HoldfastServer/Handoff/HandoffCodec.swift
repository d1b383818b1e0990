/// Why handed-over state could not be read. The new process reports it to the old one, which then rolls back.
struct HandoffStateError: Error, Sendable, CustomStringConvertible {
    let reason: String
    var description: String { "unreadable handoff state: \(reason)" }
}
