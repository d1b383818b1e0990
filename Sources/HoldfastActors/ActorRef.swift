public import HoldfastCore
import Synchronization

/// An actor: a mailbox pinned to a home ``EventLoop`` plus the behavior that handles its messages.
///
/// The ref is stable for the actor's whole supervised life: a restart swaps the behavior behind it and keeps
/// the mailbox, so messages sent while the actor is down or restarting wait for the new instance. Only
/// ``Supervisor/terminateChild(_:)``, a non-restarted exit, or a root supervisor giving up end it for good.
///
/// Thread ownership: ``send(_:)``, ``injectFault()``, ``suspend(_:)``, ``resume()``, ``withSuspended(_:)`` and
/// the metrics are callable from any thread. The behavior, the drain buffer and the lifecycle fields are
/// confined to the home loop, which is why the class is `@unchecked Sendable`.
public final class ActorRef<Message: Sendable>: @unchecked Sendable {
    /// The child id the actor was started under.
    public let id: String
    /// The loop that runs every `handle` call of this actor.
    public let loop: EventLoop

    /// What the mailbox carries: user messages and the runtime's own in-order system messages.
    enum Envelope {
        case message(Message)
        case fault
    }

    struct Mailbox {
        var queue: [Envelope] = []
        /// True while a drain task is queued on the loop or the actor is parked (down or suspended): either way
        /// a sender must not queue another drain. Unparking always queues a fresh one.
        var drainPending = false
        /// Set once terminated: further messages are dropped.
        var closed = false
    }

    // Cross-thread state.
    private let mailbox = Mutex(Mailbox())
    private let depth = Atomic<Int>(0)
    private let restarts = Atomic<Int>(0)
    private let open = Atomic<Bool>(true)

    /// The supervisor to tell about exits; weak because the supervisor owns its children.
    weak let owner: Supervisor?

    // Home-loop state.
    enum Status { case running, down, terminated }
    var behavior: (any ActorBehavior<Message>)?
    var factory: @Sendable () throws -> any ActorBehavior<Message>
    var status = Status.running
    var suspended = false
    var stopRequested = false
    /// Bumped by every supervisor order; exit reports carry it so the supervisor ignores stale ones.
    var incarnation = 0
    /// Messages taken from the mailbox in one swap and not yet handled; older than anything in the mailbox.
    private var inHand: [Envelope] = []
    private var cursor = 0

    init(
        id: String,
        loop: EventLoop,
        owner: Supervisor?,
        behavior: any ActorBehavior<Message>,
        factory: @escaping @Sendable () throws -> any ActorBehavior<Message>
    ) {
        self.id = id
        self.loop = loop
        self.owner = owner
        self.behavior = behavior
        self.factory = factory
    }

    // MARK: Sending

    /// Queues `message` for the actor; callable from any thread, never blocks on the actor.
    ///
    /// Messages from one sending thread are handled in the order sent. While the actor is suspended, down or
    /// restarting they wait in the mailbox.
    /// - Returns: false if the actor was terminated and the message dropped.
    @discardableResult
    public func send(_ message: Message) -> Bool {
        enqueue(.message(message))
    }

    /// Test hook: queues a system message that crashes the actor (with ``ActorFault/injected``) when it comes
    /// up, in order with the messages around it, exactly as if `handle` had thrown for it.
    @discardableResult
    public func injectFault() -> Bool {
        enqueue(.fault)
    }

    private func enqueue(_ envelope: Envelope) -> Bool {
        let (accepted, needsDrain) = mailbox.withLock { box -> (Bool, Bool) in
            guard !box.closed else { return (false, false) }
            box.queue.append(envelope)
            // Counted under the lock so the drain can never decrement first.
            depth.add(1, ordering: .relaxed)
            if box.drainPending { return (true, false) }
            box.drainPending = true
            return (true, true)
        }
        if needsDrain { loop.execute { [self] in drain() } }
        return accepted
    }

    // MARK: Metrics

    /// Messages queued and not yet handled (including those held while suspended or down).
    public var mailboxDepth: Int { depth.load(ordering: .relaxed) }

    /// How many times the actor was restarted.
    public var restartCount: Int { restarts.load(ordering: .relaxed) }

    /// Whether the actor still accepts messages: false once terminated for good.
    public var isAlive: Bool { open.load(ordering: .relaxed) }

    // MARK: Draining (home loop)

    /// Handles up to ``HoldfastActors/drainBatchLimit`` messages, then yields the loop to I/O and other tasks.
    private func drain() {
        var handled = 0
        while status == .running, !suspended {
            if handled == HoldfastActors.drainBatchLimit {
                loop.execute { [self] in drain() }  // drainPending stays set
                return
            }
            if cursor == inHand.count, !refill() { return }
            let envelope = inHand[cursor]
            cursor += 1
            depth.subtract(1, ordering: .relaxed)
            handled += 1
            process(envelope)
        }
        // Parked: drainPending stays set, so senders queue without scheduling; unpark() schedules a drain.
    }

    /// Swaps the mailbox into the drain buffer. Returns false (and clears `drainPending`) when it was empty.
    private func refill() -> Bool {
        // A burst can leave a large buffer behind; an idle room should not keep it.
        if inHand.capacity > HoldfastActors.retainedBufferCapacity {
            inHand = []
        } else {
            inHand.removeAll(keepingCapacity: true)
        }
        cursor = 0
        return mailbox.withLock { box -> Bool in
            if box.queue.isEmpty {
                box.drainPending = false
                return false
            }
            swap(&box.queue, &inHand)
            return true
        }
    }

    private func process(_ envelope: Envelope) {
        switch envelope {
        case .message(let message):
            guard let behavior else { return }
            do {
                try behavior.handle(message, context: ActorContext(ref: self))
            } catch {
                exit(.crashed(error))
                return
            }
            if stopRequested { exit(.normal) }
        case .fault:
            exit(.crashed(ActorFault.injected))
        }
    }

    /// Drops the behavior and tells the supervisor; the mailbox keeps whatever is queued.
    func exit(_ reason: ExitReason) {
        behavior = nil
        stopRequested = false
        status = .down
        owner?.childExited(id: id, incarnation: incarnation, reason: reason)
    }

    /// Queues a drain after the actor became runnable again (home loop).
    func unpark() {
        mailbox.withLock { $0.drainPending = true }
        loop.execute { [self] in drain() }
    }

    /// Counts a restart for the metrics.
    func countRestart() {
        restarts.add(1, ordering: .relaxed)
    }

    /// Closes the mailbox and drops what it holds; further sends return false.
    func close() {
        open.store(false, ordering: .relaxed)
        let dropped = mailbox.withLock { box -> Int in
            box.closed = true
            let count = box.queue.count
            box.queue = []
            return count
        }
        depth.subtract(dropped, ordering: .relaxed)
    }

    /// Drops the drain buffer (home loop, after ``close()``).
    func discardInHand() {
        depth.subtract(inHand.count - cursor, ordering: .relaxed)
        inHand = []
        cursor = 0
    }
}
