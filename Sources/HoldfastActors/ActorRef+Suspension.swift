import HoldfastCore

/// Suspension for code change, as OTP's `sys:suspend` / `sys:change_code` / `sys:resume`.
///
/// Suspension and restarts are independent: a supervisor may restart a suspended actor (the new instance then
/// stays suspended until ``ActorRef/resume()``).
extension ActorRef {
    /// Suspends the actor between two messages; `completion` then runs on the home loop.
    ///
    /// Suspension is itself a task on the home loop, so it can only take effect between two `handle` calls.
    /// Messages keep queuing (none dropped) until ``resume()``. Suspending a suspended actor just calls
    /// `completion`. The request is not ordered with sends: messages already in the mailbox may still be
    /// handled before it takes effect (at most one drain batch).
    public func suspend(_ completion: @escaping @Sendable () -> Void = {}) {
        loop.execute { [self] in
            suspended = true
            completion()
        }
    }

    /// Resumes a suspended actor; queued messages are then handled in order. Callable from any thread.
    public func resume() {
        loop.execute { [self] in resumeInLoop() }
    }

    /// Suspends the actor, runs `body` on the home loop with access to its behavior, then resumes it.
    ///
    /// This is the hot upgrade's entry point: export state from ``SuspendedActor/behavior`` and swap code with
    /// ``SuspendedActor/changeCode(restartWith:_:)``.
    public func withSuspended(_ body: @escaping @Sendable (SuspendedActor<Message>) -> Void) {
        suspend { [self] in
            body(SuspendedActor(ref: self))
            resumeInLoop()
        }
    }

    func resumeInLoop() {
        guard suspended else { return }
        suspended = false
        if status == .running { unpark() }
    }
}

/// A suspended actor, between two messages, as seen from its home loop. Valid only on the home loop while
/// the actor stays suspended.
public struct SuspendedActor<Message: Sendable> {
    /// The actor.
    public let ref: ActorRef<Message>

    /// The current behavior (its state included), or nil if the actor is down awaiting a restart.
    public var behavior: (any ActorBehavior<Message>)? {
        precondition(ref.loop.isInLoop && ref.suspended, "a suspended actor is only visible on its home loop")
        return ref.behavior
    }

    /// Replaces the behavior with `transform(old)`, e.g. a new version built from the old one's state.
    ///
    /// Like OTP's code change, it happens only while suspended, and if `transform` throws the old behavior and
    /// its state are kept and the actor resumes on the old code.
    /// - Parameters:
    ///   - newFactory: what later restarts build instead of the original factory (the new version's start).
    ///   - transform: builds the new behavior from the old one.
    /// - Throws: ``CodeChangeError/notRunning`` if the actor is down (nothing to convert; a restart will use
    ///   `newFactory` anyway, which is installed regardless), or whatever `transform` threw.
    public func changeCode(
        restartWith newFactory: (@Sendable () throws -> any ActorBehavior<Message>)? = nil,
        _ transform: (any ActorBehavior<Message>) throws -> any ActorBehavior<Message>
    ) throws {
        precondition(ref.loop.isInLoop && ref.suspended, "code change needs a suspended actor, on its home loop")
        guard let old = ref.behavior else {
            if let newFactory { ref.factory = newFactory }
            throw CodeChangeError.notRunning
        }
        let new = try transform(old)
        ref.behavior = new
        if let newFactory { ref.factory = newFactory }
    }

    /// Messages queued while suspended.
    public var mailboxDepth: Int { ref.mailboxDepth }
}

/// Why a code change did not happen.
public enum CodeChangeError: Error, Sendable, Equatable {
    /// The actor is down awaiting a restart: there is no behavior to convert.
    case notRunning
}
