public import HoldfastCore
import Synchronization

/// Starts actors from ``ChildSpec``s and restarts them when they exit, with OTP's strategies and restart
/// intensity.
///
/// Lifecycle: `init` validates the specs (unique ids, sane intensity) and starts the children in order;
/// ``startChild(_:as:)`` adds children later (rooms are created on first join); ``terminateChild(_:)`` and
/// ``shutdown()`` end them.
///
/// Intensity: more than `maxRestarts` restarts within `withinMilliseconds` and the supervisor gives up. Its
/// children are taken down (their mailboxes keep queuing) and it exits towards its parent, which treats it as
/// a crashed child and restarts the whole subtree per its own strategy. A root supervisor instead terminates
/// its children and calls `onEscalate` (the server logs critically).
///
/// Threads: every method is callable from any thread. Exit reports arrive on the child's home loop; decisions
/// are made under one lock and the resulting orders (which only queue tasks on loops, or recurse into another
/// supervisor) are issued after it is released, so supervisors never hold two locks at once.
public final class Supervisor: Sendable {
    /// Which children a crash restarts.
    public enum Strategy: Sendable {
        /// Only the child that exited.
        case oneForOne
        /// Every child.
        case oneForAll
        /// The child that exited and every child started after it.
        case restForOne
    }

    /// The supervisor's name; its child id under a parent.
    public let name: String
    /// The restart strategy.
    public let strategy: Strategy
    /// Restarts tolerated within the period.
    public let maxRestarts: Int
    /// The intensity period.
    public let withinMilliseconds: Int64

    weak let parent: Supervisor?
    private let onEscalate: (@Sendable (Escalation) -> Void)?
    private let clock: @Sendable () -> Int64
    let state: Mutex<State>

    struct Record {
        let id: String
        let restart: ChildSpec.Restart
        let node: any SupervisedNode
        let messageType: ObjectIdentifier?
        var incarnation = 0
        var restarts = 0
    }

    enum Status { case running, down, terminated }

    struct State {
        var children: [Record] = []
        var restartTimes: [Int64] = []
        var restartCount = 0
        var status = Status.running
        /// This supervisor's incarnation as a child of `parent`.
        var incarnation = 0
    }

    /// Creates a supervisor and starts `children` in order.
    ///
    /// - Parameters:
    ///   - parent: the supervisor this one runs under; it adopts this one as a `.permanent` child named `name`.
    ///   - onEscalate: called when this supervisor gives up and has no parent, on the thread of the exit that
    ///     exceeded the intensity.
    ///   - clock: milliseconds on a monotonic clock; injectable for tests.
    /// - Throws: ``SupervisorError`` if a spec is invalid, an id is taken, or a child fails to start (children
    ///   already started are terminated).
    public init(
        name: String,
        strategy: Strategy,
        maxRestarts: Int = 3,
        withinMilliseconds: Int64 = 5000,
        children: [ChildSpec] = [],
        parent: Supervisor? = nil,
        onEscalate: (@Sendable (Escalation) -> Void)? = nil,
        clock: @escaping @Sendable () -> Int64 = { MonotonicClock.nowMilliseconds() }
    ) throws(SupervisorError) {
        guard maxRestarts >= 0, withinMilliseconds > 0 else {
            throw .invalidIntensity(maxRestarts: maxRestarts, withinMilliseconds: withinMilliseconds)
        }
        var seen = Set<String>()
        for spec in children where !seen.insert(spec.id).inserted {
            throw .duplicateChildID(spec.id)
        }
        self.name = name
        self.strategy = strategy
        self.maxRestarts = maxRestarts
        self.withinMilliseconds = withinMilliseconds
        self.parent = parent
        self.onEscalate = onEscalate
        self.clock = clock
        self.state = Mutex(State())
        var started: [Record] = []
        for spec in children {
            do {
                let node = try spec.make(self)
                started.append(Record(id: spec.id, restart: spec.restart, node: node, messageType: spec.messageType))
            } catch {
                for record in started { record.node.terminate() }
                throw .childStartFailed(id: spec.id, error: error)
            }
        }
        let records = started
        state.withLock { $0.children = records }
        if let parent {
            do throws(SupervisorError) {
                try parent.adopt(self)
            } catch {
                for record in records { record.node.terminate() }
                throw error
            }
        }
    }

    private func adopt(_ child: Supervisor) throws(SupervisorError) {
        try state.withLock { state throws(SupervisorError) in
            guard state.status == .running else { throw .notRunning(name) }
            guard !state.children.contains(where: { $0.id == child.name }) else {
                throw .duplicateChildID(child.name)
            }
            state.children.append(Record(id: child.name, restart: .permanent, node: child, messageType: nil))
        }
    }

    // MARK: Dynamic children

    /// Starts one more child (last in start order) and returns its ref.
    ///
    /// - Throws: ``SupervisorError`` if the id is taken, the supervisor gave up or was shut down, or the
    ///   factory threw.
    /// - Precondition: `Message` is the message type of the spec's behavior.
    public func startChild<Message: Sendable>(
        _ spec: ChildSpec,
        as messageType: Message.Type = Message.self
    ) throws(SupervisorError) -> ActorRef<Message> {
        precondition(
            spec.messageType == ObjectIdentifier(Message.self),
            "child \(spec.id) takes \(spec.messageTypeName), not \(Message.self)")
        try state.withLock { state throws(SupervisorError) in
            guard state.status == .running else { throw .notRunning(name) }
            guard !state.children.contains(where: { $0.id == spec.id }) else { throw .duplicateChildID(spec.id) }
        }
        let node: any SupervisedNode
        do {
            node = try spec.make(self)
        } catch {
            throw .childStartFailed(id: spec.id, error: error)
        }
        // Checked again: another thread may have taken the id or stopped us while the factory ran.
        let failure = state.withLock { state -> SupervisorError? in
            guard state.status == .running else { return .notRunning(name) }
            guard !state.children.contains(where: { $0.id == spec.id }) else { return .duplicateChildID(spec.id) }
            state.children.append(
                Record(id: spec.id, restart: spec.restart, node: node, messageType: spec.messageType))
            return nil
        }
        if let failure {
            node.terminate()
            throw failure
        }
        return node as! ActorRef<Message>  // the precondition above guarantees the type
    }

    /// Terminates and removes a child. Returns false if there is no child with that id.
    @discardableResult
    public func terminateChild(_ id: String) -> Bool {
        let node = state.withLock { state -> (any SupervisedNode)? in
            guard let index = state.children.firstIndex(where: { $0.id == id }) else { return nil }
            return state.children.remove(at: index).node
        }
        node?.terminate()
        return node != nil
    }

    /// The ref of the child `id`, or nil if there is none or it takes other messages.
    public func child<Message: Sendable>(_ id: String, as messageType: Message.Type = Message.self)
        -> ActorRef<Message>?
    {
        let node = state.withLock { $0.children.first(where: { $0.id == id })?.node }
        return node as? ActorRef<Message>
    }

    /// Terminates every child (last started first) and stops supervising.
    public func shutdown() {
        terminate()
    }

    // MARK: Metrics

    /// Restarts this supervisor performed (one per exit handled, however many children it restarted).
    public var restartCount: Int { state.withLock { $0.restartCount } }

    /// How many times child `id` was restarted, or nil if there is no such child.
    public func restartCount(of id: String) -> Int? {
        state.withLock { $0.children.first(where: { $0.id == id })?.restarts }
    }

    /// The children's ids in start order.
    public var childIDs: [String] { state.withLock { $0.children.map(\.id) } }

    /// Whether the supervisor is supervising (false after giving up or ``shutdown()``).
    public var isRunning: Bool { state.withLock { $0.status == .running } }

    func escalate(_ escalation: Escalation, incarnation: Int) {
        if let parent {
            parent.childExited(id: name, incarnation: incarnation, reason: .escalated(escalation))
        } else {
            onEscalate?(escalation)
        }
    }

    var now: Int64 { clock() }
}

/// Why a supervisor refused a request.
public enum SupervisorError: Error, CustomStringConvertible {
    /// Two children (or a child and a nested supervisor) share an id.
    case duplicateChildID(String)
    /// `maxRestarts` is negative or the period is not positive.
    case invalidIntensity(maxRestarts: Int, withinMilliseconds: Int64)
    /// A child's factory threw while starting it.
    case childStartFailed(id: String, error: any Error)
    /// The supervisor gave up or was shut down.
    case notRunning(String)

    public var description: String {
        switch self {
        case .duplicateChildID(let id): "duplicate child id \(id)"
        case .invalidIntensity(let max, let period): "invalid restart intensity \(max) in \(period) ms"
        case .childStartFailed(let id, let error): "child \(id) failed to start: \(error)"
        case .notRunning(let name): "supervisor \(name) is not running"
        }
    }
}
