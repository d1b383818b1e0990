public import HoldfastCore

/// User code of an actor: callbacks only. The runtime (``ActorRef``) owns the mailbox, the thread, suspension
/// and crash reporting; a behavior only reacts to one message at a time.
///
/// A behavior is a class so that its state is one explicit object the runtime can drop on a crash (a restart
/// builds a fresh one through the ``ChildSpec`` factory) and hand to a code change (which builds the next
/// version from it). It is confined to its actor's home loop and never shared, so it need not be `Sendable`.
public protocol ActorBehavior<Message>: AnyObject, SendableMetatype {
    /// What the actor accepts; crosses threads inside the mailbox.
    associatedtype Message: Sendable

    /// Handles one message, on the home loop, never concurrently with another call for the same actor.
    ///
    /// - Throws: anything; throwing means the actor crashed. The runtime drops this behavior and this message
    ///   (like OTP, the message that crashed an actor is not redelivered) and reports to the supervisor, which
    ///   restarts it per its ``ChildSpec/Restart`` policy. Messages behind it stay queued for the new instance.
    func handle(_ message: Message, context: ActorContext<Message>) throws
}

/// What a behavior may ask of the runtime while it handles a message. Valid only during that call.
public struct ActorContext<Message: Sendable> {
    /// The actor itself, e.g. to hand to others or to schedule a message to itself.
    public let ref: ActorRef<Message>

    /// The actor's home loop (the current thread).
    public var loop: EventLoop { ref.loop }

    /// The child id the actor was started under.
    public var id: String { ref.id }

    /// How many times this actor has been restarted (0 for the first instance).
    public var restartCount: Int { ref.restartCount }

    /// Ends the actor normally once this message is handled. A `.permanent` child is restarted anyway; a
    /// `.transient` or `.temporary` one is removed, and messages still queued for it are dropped.
    public func stop() {
        ref.stopRequested = true
    }
}
