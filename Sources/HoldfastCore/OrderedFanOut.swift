/// The deliveries that one room event makes to the members on one event loop, run there as a single task.
///
/// A room's broadcasts go to every member, and its replies and pushes go to one member each, all in the order the
/// room made them. Run a message at a time, every broadcast costs a pass over the members with every per-member
/// check. Here a run of broadcasts to the same member list reaches each member in one call with all the messages of
/// the run. Only the order per member matters, since members are different sockets. A member that also gets
/// deliveries of its own gets everything strictly in the room's order, after the others.
///
/// Thread ownership: filled on the room's loop, then handed to the members' loop and run there once; never used
/// from two threads at a time, which is why the class is `@unchecked Sendable`.
///
/// Inlinable, so the module that uses it specialises it for its own recipient and message types: unspecialised,
/// every message added and every recipient reached paid for generic metadata lookups and witness calls, once per
/// member loop, which made each extra loop cost more than the hand-off itself.
public final class OrderedFanOut<Recipient: AnyObject, Message>: @unchecked Sendable {
    @usableFromInline
    enum Step {
        /// The message at `index` of segment `segment`, for all its recipients but those in `skipped[skip]`.
        case broadcast(segment: Int, index: Int, skip: Int?)
        /// A delivery to one recipient.
        case direct(() -> Void)
    }

    /// A run of broadcasts to one recipient list (the same array, not only equal members), in order.
    @usableFromInline
    struct Segment {
        @usableFromInline let recipients: [Recipient]
        @usableFromInline var messages: [Message]

        @inlinable
        init(recipients: [Recipient], messages: [Message]) {
            self.recipients = recipients
            self.messages = messages
        }
    }

    @usableFromInline var steps: [Step] = []
    @usableFromInline var segments: [Segment] = []
    /// Recipients with deliveries of their own, or left out of a broadcast: they get every step in order.
    @usableFromInline var directed: Set<ObjectIdentifier> = []
    /// The recipients each broadcast step with a `skip` leaves out.
    @usableFromInline var skipped: [Set<ObjectIdentifier>] = []
    /// The recipients with deliveries of their own are reached before the others, so the loop writes to them first
    /// (a room's publishers get their replies before the rest of the fan-out is written).
    public var directedFirst = false

    @inlinable
    public init() {}

    /// Whether nothing was added.
    @inlinable
    public var isEmpty: Bool { steps.isEmpty }

    /// `message` for every recipient in `recipients`.
    @inlinable
    public func broadcast(_ message: Message, to recipients: [Recipient]) {
        if let last = segments.indices.last, Self.same(segments[last].recipients, recipients) {
            segments[last].messages.append(message)
        } else {
            segments.append(Segment(recipients: recipients, messages: [message]))
        }
        steps.append(
            .broadcast(segment: segments.count - 1, index: segments[segments.count - 1].messages.count - 1, skip: nil))
    }

    /// `message` for every recipient in `recipients` but those in `except` (each of which is in `recipients`);
    /// returns how many it reaches. A few left out keep the run of the whole list for everyone else, and get
    /// their deliveries one by one, in order, without this one.
    @inlinable @discardableResult
    public func broadcast(_ message: Message, to recipients: [Recipient], except: [Recipient]) -> Int {
        let left = Set(except.lazy.map { ObjectIdentifier($0) })
        guard !left.isEmpty, left.count * 8 < recipients.count else {
            let reached = left.isEmpty ? recipients : recipients.filter { !left.contains(ObjectIdentifier($0)) }
            if !reached.isEmpty { broadcast(message, to: reached) }
            return reached.count
        }
        broadcast(message, to: recipients)
        steps[steps.count - 1] = .broadcast(
            segment: segments.count - 1, index: segments[segments.count - 1].messages.count - 1, skip: skipped.count)
        skipped.append(left)
        directed.formUnion(left)
        return recipients.count - left.count
    }

    /// `body` delivers to `recipient` alone, after what was added before for it.
    @inlinable
    public func deliver(to recipient: Recipient, _ body: @escaping () -> Void) {
        directed.insert(ObjectIdentifier(recipient))
        steps.append(.direct(body))
    }

    /// Runs the deliveries: `send(recipient, run)` for each recipient and run of broadcasts it is in, where `run`
    /// is what `prepare` made of the run's messages (once for all its recipients); the deliveries to one
    /// recipient as they come. Call once.
    @inlinable
    public func run<Run>(prepare: (ArraySlice<Message>) -> Run, send: (Recipient, Run) -> Void) {
        var directedIn: [[Recipient]] = directed.isEmpty ? [] : Array(repeating: [], count: segments.count)
        let first = directedFirst && !directed.isEmpty
        // The few recipients with deliveries of their own (a batch's publishers) are found among the members by
        // comparing identities: hashing every member's cost more.
        let few = directed.count <= Self.fewDirected ? Array(directed) : nil
        if first {
            for (position, segment) in segments.enumerated() {
                directedIn[position] = segment.recipients.filter {
                    let id = ObjectIdentifier($0)
                    return few?.contains(id) ?? directed.contains(id)
                }
            }
            runSteps(directedIn, prepare: prepare, send: send)
        }
        // Recipients without deliveries of their own: each run of broadcasts in one call.
        for (position, segment) in segments.enumerated() {
            let messages = prepare(segment.messages[...])
            for recipient in segment.recipients {
                let id = ObjectIdentifier(recipient)
                if !directed.isEmpty, few?.contains(id) ?? directed.contains(id) {
                    if !first { directedIn[position].append(recipient) }
                } else {
                    send(recipient, messages)
                }
            }
        }
        guard !directed.isEmpty, !first else { return }
        runSteps(directedIn, prepare: prepare, send: send)
    }

    /// Up to this many recipients with deliveries of their own are looked for by comparison rather than by hash.
    @usableFromInline static var fewDirected: Int { 8 }

    /// The recipients with deliveries of their own (`directedIn`, per segment): every step in order.
    @inlinable
    func runSteps<Run>(
        _ directedIn: [[Recipient]], prepare: (ArraySlice<Message>) -> Run, send: (Recipient, Run) -> Void
    ) {
        for step in steps {
            switch step {
            case .broadcast(let position, let index, let skip):
                guard !directedIn[position].isEmpty else { continue }
                let message = prepare(segments[position].messages[index...index])
                for recipient in directedIn[position] {
                    if let skip, skipped[skip].contains(ObjectIdentifier(recipient)) { continue }
                    send(recipient, message)
                }
            case .direct(let body):
                body()
            }
        }
    }

    /// Whether both are the same array (its storage is shared), which a room hands out until its members change.
    @inlinable
    static func same(_ one: [Recipient], _ other: [Recipient]) -> Bool {
        guard one.count == other.count else { return false }
        let storage = one.withUnsafeBufferPointer { $0.baseAddress }  // compared, never read through
        return storage == other.withUnsafeBufferPointer { $0.baseAddress }
    }
}

/// Deliveries collected per event loop, then handed to each loop as one task (see ``OrderedFanOut``).
///
/// Thread ownership: the collecting thread's; each loop's ``OrderedFanOut`` then belongs to its task.
public struct FanOutByLoop<Recipient: AnyObject, Message> {
    @usableFromInline var pending: [(loop: EventLoop, deliveries: OrderedFanOut<Recipient, Message>)] = []

    @inlinable
    public init() {}

    /// The deliveries bound for `loop`.
    @inlinable
    public mutating func to(_ loop: EventLoop) -> OrderedFanOut<Recipient, Message> {
        if let found = pending.first(where: { $0.loop === loop }) { return found.deliveries }
        pending.append((loop, OrderedFanOut()))
        return pending[pending.count - 1].deliveries
    }

    /// Hands each loop one task that runs its deliveries with `prepare` and `send`, and starts over.
    @inlinable
    public mutating func send<Run>(
        prepare: @escaping @Sendable (ArraySlice<Message>) -> Run, send: @escaping @Sendable (Recipient, Run) -> Void
    ) {
        for (loop, deliveries) in pending { loop.execute { deliveries.run(prepare: prepare, send: send) } }
        pending.removeAll(keepingCapacity: true)
    }
}
