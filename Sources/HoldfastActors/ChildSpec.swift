public import HoldfastCore

/// How to start (and restart) one supervised actor. Validated when handed to a ``Supervisor``.
public struct ChildSpec: Sendable {
    /// When a child that exited is restarted.
    public enum Restart: Sendable {
        /// Always, whether it crashed or stopped normally.
        case permanent
        /// Only when it crashed; a normal stop removes it.
        case transient
        /// Never; it is removed when it exits (and when a sibling's crash restarts it under `.oneForAll` or
        /// `.restForOne`, as in OTP).
        case temporary
    }

    /// Unique among the supervisor's children.
    public let id: String
    /// The restart policy.
    public let restart: Restart
    /// The home loop every instance runs on.
    public let loop: EventLoop

    let messageType: ObjectIdentifier
    let messageTypeName: String
    let make: @Sendable (_ owner: Supervisor?) throws -> any SupervisedNode

    /// Describes an actor whose instances `start` builds.
    ///
    /// - Parameters:
    ///   - start: builds the behavior with its initial state. It runs on the caller's thread for the first
    ///     start and on `loop` for each restart, so a restart rebuilds state from scratch (re-tracks presence,
    ///     reloads history) rather than inheriting the crashed instance's. Throwing counts as a crash.
    public init<Behavior: ActorBehavior>(
        id: String,
        restart: Restart = .permanent,
        loop: EventLoop,
        start: @escaping @Sendable () throws -> Behavior
    ) {
        self.id = id
        self.restart = restart
        self.loop = loop
        self.messageType = ObjectIdentifier(Behavior.Message.self)
        self.messageTypeName = String(describing: Behavior.Message.self)
        self.make = { owner in
            let factory: @Sendable () throws -> any ActorBehavior<Behavior.Message> = { try start() }
            return ActorRef<Behavior.Message>(
                id: id, loop: loop, owner: owner, behavior: try start(), factory: factory)
        }
    }
}
