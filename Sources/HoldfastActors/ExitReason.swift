/// Why an actor or a supervisor stopped, as reported to its supervisor.
public enum ExitReason: Sendable, CustomStringConvertible {
    /// The behavior called ``ActorContext/stop()``.
    case normal
    /// `handle` or the start factory threw, or a fault was injected.
    case crashed(any Error)
    /// A child supervisor exceeded its restart intensity and gave up.
    case escalated(Escalation)

    /// Whether a `.transient` child is restarted for this reason.
    public var isAbnormal: Bool {
        if case .normal = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .normal: "normal"
        case .crashed(let error): "crashed: \(error)"
        case .escalated(let escalation): "escalated: \(escalation)"
        }
    }
}

/// A supervisor that gave up: more than `maxRestarts` restarts within its period.
public struct Escalation: Sendable, CustomStringConvertible {
    /// The supervisor that gave up.
    public let supervisor: String
    /// The child whose exit exceeded the intensity.
    public let child: String
    /// Why that child exited.
    public let reason: String
    /// Restarts counted within the period, including the one refused.
    public let restartsInPeriod: Int

    public var description: String {
        "supervisor \(supervisor) gave up after \(restartsInPeriod) restarts; last exit of \(child): \(reason)"
    }
}

/// Errors an actor's runtime raises itself.
public enum ActorFault: Error, Sendable, Equatable {
    /// ``ActorRef/injectFault()`` was processed: a crash on purpose, for tests.
    case injected
}
