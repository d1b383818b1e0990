public import HoldfastChannels
public import HoldfastJSON
import HoldfastPresence

// # HoldfastRooms
//
// A chat room as a pure value: ``RoomState/handle(_:now:)`` takes one ``RoomEvent`` and returns the
// ``RoomAction``s the server performs (replies, encoded-once broadcasts, presence state, history reads and
// commits, timers). No sockets, threads or clocks: the server's room actor runs the state on the room's home
// loop and passes the time in, so every room behaviour is testable without a network.
//
// Lifecycle: a room starts empty (`init(topic:configuration:handler:lastID:)`), is rebuilt from its own last
// value after its actor failed (`init(recovering:lastStoredID:)`), or is imported from a binary upgrade
// (`init(importing:presence:members:configuration:handler:)`).
//
// Errors: none. Refusals (a denied join, a rejected message, a failed commit) are replies to the member; the
// I/O the actions name (history reads and commits) fails in the server, which reports it back as an event.
//
// Performance: a broadcast is encoded once per serializer version in use, a presence state once per window for
// all its joiners; nothing here is per recipient.

/// What every room of a server shares.
public struct RoomConfiguration: Sendable, Equatable {
    /// Prefix of every phx_ref this process hands out (unique per process, so refs never collide across a
    /// restart or an upgrade).
    public var presenceRefPrefix: String
    /// Presence diffs are coalesced over this window (0: sent at once).
    public var presenceWindowMilliseconds: Int64
    /// At most this many missed messages are replayed to a recovering join.
    public var historyLimit: Int
    /// Ids come from the store (a cluster's Redis), not the room: see `RoomState+Sequencing.swift`.
    public var sequencedByStore: Bool
    /// From this many presences the room keeps its encoded state in chunks (`PresenceState.encodedState`; 0: never).
    public var presenceStateChunksFrom: Int
    /// Whether a batch made durable while later batches of the room are being committed waits for them, so their
    /// broadcasts reach each member in one write (see ``DurableBatchJoining``).
    public var durableBatches: DurableBatchJoining
    /// Log ``RoomState/batchCounts`` every this many durable batches (0: never).
    public var batchCountsEvery: Int

    public init(
        presenceRefPrefix: String, presenceWindowMilliseconds: Int64, historyLimit: Int, sequencedByStore: Bool = false,
        presenceStateChunksFrom: Int = 1_024, durableBatches: DurableBatchJoining = .off, batchCountsEvery: Int = 0
    ) {
        self.batchCountsEvery = batchCountsEvery
        self.presenceRefPrefix = presenceRefPrefix
        self.presenceWindowMilliseconds = presenceWindowMilliseconds
        self.historyLimit = historyLimit
        self.sequencedByStore = sequencedByStore
        self.presenceStateChunksFrom = presenceStateChunksFrom
        self.durableBatches = durableBatches
    }
}

/// How a room's durable batch waits for the room's batches handed out for persistence after it (at most one more
/// commit: they are in the writer's next transaction), so that the batches reach each member in one write.
public enum DurableBatchJoining: String, Sendable, Equatable, CaseIterable {
    /// Each batch goes out when it is durable.
    case off
    /// The whole batch waits: its broadcasts and its senders' replies go out with the later batches (fewer sends per
    /// delivery; a closed loop of publishers waits for the replies, so it runs one commit at a time).
    case all
    /// Only the other members' copies wait: the batch's senders get the batch and their replies at once, written
    /// before the rest of the fan-out (held or not), so the publishers resend at once; every other member gets a
    /// held batch with the later ones in one write.
    case others
    /// `others`, and the room's next commit starts only once the fan-out of its last durable batch is written:
    /// the messages its senders send meanwhile join the batch waiting for that commit, so one batch accumulates
    /// while one fan-out is written and each write carries every message in flight. A commit waits at most one
    /// loop turn (the fan-out's writes) longer than with `others`, and only while the room keeps up: the wait ends
    /// as soon as the messages waiting refill the room's window (what the last paced commit took), and there is no
    /// wait when a window's worth is already waiting or a durable batch is held for the next commit.
    case paced

    /// Whether a batch's senders get it, and their replies, before the rest of its fan-out (`others`, `paced`).
    public var servesSendersFirst: Bool { self == .others || self == .paced }
}

/// The time an event is handled at: the monotonic clock (timers) and the wall clock (timestamps).
public struct RoomInstant: Sendable, Equatable {
    /// Milliseconds on the server's monotonic clock.
    public var monotonic: Int64
    /// Milliseconds since the Unix epoch.
    public var wall: Int64

    public init(monotonic: Int64, wall: Int64) {
        self.monotonic = monotonic
        self.wall = wall
    }
}

/// One chat room: its members, presence, message numbering, and the messages on their way to durability.
public struct RoomState: Sendable {
    /// A member with what the room tracks for it. Its presence meta and phx_ref live in the room's presence
    /// state only (``presenceMeta(of:)``): one copy per member.
    ///
    /// The member's fields are stored flat, with the serializer version after the assigns, so the one-byte
    /// version sits in the assigns' tail padding: 64 bytes a seat, where a `Member` and the assigns took 72.
    public struct Seat: Sendable, Equatable {
        /// The member's connection (``Member/connectionID``), which the seat is stored under.
        public var connectionID: UInt64
        /// The member's presence key (``Member/user``).
        public var user: String
        /// The member's join (``Member/joinRef``).
        public var joinRef: String?
        /// The handler's assigns for this socket (API 2).
        public var assigns: JSONValue
        /// The member's serializer (``Member/version``).
        public var version: PhoenixSerializerVersion

        /// The seat of `member`, with the handler's `assigns`.
        public init(member: Member, assigns: JSONValue = .null) {
            (self.connectionID, self.user, self.joinRef) = (member.connectionID, member.user, member.joinRef)
            (self.assigns, self.version) = (assigns, member.version)
        }

        /// The member seated here.
        public var member: Member {
            get { Member(connectionID: connectionID, user: user, joinRef: joinRef, version: version) }
            set {
                (connectionID, user, joinRef) = (newValue.connectionID, newValue.user, newValue.joinRef)
                version = newValue.version
            }
        }
    }

    /// A message accepted and not yet acknowledged, with whom to acknowledge (nil: the sender's join did not
    /// come across a binary upgrade, so there is no one to answer).
    struct Accepted: Sendable {
        var message: ChatMessage
        var sender: Member?
        var ref: String?
        /// Set for a message from the server API: the caller to answer.
        var ticket: UInt64? = nil
    }

    public let topic: String
    public let configuration: RoomConfiguration
    /// The handler code in use; replaced by a handler swap while the room is suspended.
    public var handler: any RoomChannel
    /// The handler's own state for this room (API 2), written by the handler version `handlerStateVersion`.
    public internal(set) var handlerState: JSONValue = .null
    /// The handler version that wrote ``handlerState`` and the members' assigns; a different current version
    /// migrates them before its first call.
    public internal(set) var handlerStateVersion: String
    /// Timers the handler scheduled: due (monotonic ms) and tag, in the order they were asked for.
    public internal(set) var handlerTimers: [HandlerTimer] = []
    /// Imported timers hold the time left until ``RoomEvent/resumeAfterHandoff``.
    var timersRelative = false
    /// Extra join-reply members from the handler for joins waiting on a history read.
    var joinReplies: [UInt64: JSONValue] = [:]
    var presence: PresenceState
    var coalescer: PresenceDiffCoalescer
    /// The highest id handed out (sequenced by the store: the highest id delivered).
    public internal(set) var lastID: Int64
    /// Authors of the recent messages, for the handler's edit and delete rules.
    public internal(set) var authors = MessageAuthors()
    /// Sequenced by the store: the last local, negative id of a message waiting for its real one.
    var provisionalID: Int64 = 0
    public internal(set) var seats = SeatTable() { didSet { seatsGeneration &+= 1 } }
    /// Bumped by every change to ``seats`` (a join, a leave, assigns), so a binary upgrade's pause neither copies
    /// nor compares the members' assigns of a room whose seats did not move since staging.
    public internal(set) var seatsGeneration: UInt64 = 0
    /// Members per serializer version, so a broadcast encodes only the versions someone reads.
    var countByVersion: [PhoenixSerializerVersion: Int] = [:]
    /// Devices (joined connections) per user, for membership counted per user: the metas per presence key,
    /// since every seat tracks one meta under its user.
    public var devicesByUser: [String: Int] { presence.metaCountsByKey }
    /// Accepted messages not yet handed out for persistence.
    var pending: [Accepted] = []
    var commitScheduled = false
    /// Batches handed out for persistence, by number, until they are reported durable.
    var inFlight: [Int: [Accepted]] = [:]
    var nextBatch = 0
    /// Durable batches waiting for the batches handed out after them (``RoomConfiguration/durableBatches``), in
    /// order; they go out when batch ``heldUntilBatch`` is reported.
    var heldDurable: [[Accepted]] = []
    var heldUntilBatch: Int?
    /// ``DurableBatchJoining/others``: the held batch's deliveries to everyone but its senders (who have it), built
    /// when it became durable; they go out before anything else reaches the members.
    var heldDeliveries: [RoomAction] = []
    /// ``DurableBatchJoining/paced``: a durable batch's fan-out was made since the last commit was handed out, so
    /// the next commit waits until it is written.
    var commitAfterFanOut = false
    /// ``DurableBatchJoining/paced``: a commit waits for the fan-out's writes (its
    /// ``RoomAction/scheduleCommitAfterFanOut`` has not come back yet).
    var pacedWaiting = false
    /// ``DurableBatchJoining/paced``: the messages the last paced commit handed out, the room's window (what its
    /// publishers send while one fan-out is written); 0 until one is known. A wait ends once this many are waiting.
    public internal(set) var pacedWindow = 0
    /// ``DurableBatchJoining/paced``: messages handed out by a wait that ended early, until its turn ends (the
    /// messages read after them in that turn belong to the same window).
    var pacedEarlyHandedOut: Int?
    /// What happened to the room's durable batches so far.
    public internal(set) var batchCounts = DurableBatchCounts()
    var batchCountsLoggedAt = 0
    /// Members that joined since the last presence flush: they get the whole `presence_state` at the flush
    /// (encoded once for all of them) instead of the diff.
    var awaitingState: [UInt64: Member] = [:]
    /// Per member with a reply outstanding, its replies in the order of its pushes: a reply goes out once every
    /// reply before it has (Phoenix answers a channel's pushes in order; an error must not overtake the ok of an
    /// earlier message still on its way to durability).
    var replyQueues: [UInt64: [ReplySlot]] = [:]
    /// A handed-over room carried a presence window that still has to be flushed.
    var pendingHandoffFlush = false
    /// Bumped by every change to the presence, so a binary upgrade resends a room's presence only if it moved
    /// since staging.
    public internal(set) var presenceGeneration: UInt64 = 0

    /// A new, empty room whose history ends at `lastID`, served by an API 1 handler.
    public init(topic: String, configuration: RoomConfiguration, handler: any ChatHandler, lastID: Int64) {
        self.init(topic: topic, configuration: configuration, channel: ChatHandlerChannel(handler), lastID: lastID)
    }

    /// A new, empty room whose history ends at `lastID`.
    public init(topic: String, configuration: RoomConfiguration, channel: any RoomChannel, lastID: Int64) {
        self.topic = topic
        self.configuration = configuration
        self.handler = channel
        self.handlerStateVersion = channel.version
        self.lastID = lastID
        presence = PresenceState(refPrefix: configuration.presenceRefPrefix)
        coalescer = PresenceDiffCoalescer(windowMilliseconds: configuration.presenceWindowMilliseconds)
    }

    /// The room rebuilt after its actor failed: the same members with the same metas and phx_refs (clients see
    /// no presence change), numbering after both the ids handed out and those stored. Messages that were on
    /// their way to durability are forgotten; their senders got no ok and resend.
    public init(recovering previous: RoomState, lastStoredID: Int64) {
        self.init(
            topic: previous.topic, configuration: previous.configuration, channel: previous.handler,
            lastID: max(previous.lastID, lastStoredID))
        handlerState = previous.handlerState
        handlerStateVersion = previous.handlerStateVersion
        handlerTimers = previous.handlerTimers
        authors = previous.authors
        for seat in previous.seats.values {
            let member = seat.member
            seats[member.connectionID] = seat
            countByVersion[member.version, default: 0] += 1
            guard let tracked = previous.presence.meta(owner: member.connectionID, key: member.user) else { continue }
            presence.track(owner: member.connectionID, key: member.user, meta: tracked.meta, phxRef: tracked.ref)
            let shared = sharingTrackedMeta(of: member, seat.assigns)
            seats[member.connectionID]?.assigns = shared
        }
        _ = presence.takeDiff()
        // Durable batches held for a later one reach the members at ``RoomEvent/restarted`` (the later one is lost).
        (heldDurable, heldDeliveries) = (previous.heldDurable, previous.heldDeliveries)
        // Past the previous generations: a staged copy of the room before its restart never passes for current.
        (presenceGeneration, seatsGeneration) = (previous.presenceGeneration &+ 1, previous.seatsGeneration &+ 1)
    }

    /// The number of members.
    public var memberCount: Int { seats.count }

    /// The member with this connection, if it is in the room.
    public func member(_ connectionID: UInt64) -> Member? { seats[connectionID]?.member }

    /// The presence meta (without `phx_ref`) and phx_ref of a member, if it is in the room.
    public func presenceMeta(of connectionID: UInt64) -> (meta: JSONValue, phxRef: String)? {
        guard let member = seats[connectionID]?.member,
            let tracked = presence.meta(owner: connectionID, key: member.user)
        else { return nil }
        return (tracked.meta, tracked.ref)
    }

    /// Handles one event at `now`; returns what the server must do, in order.
    public mutating func handle(_ event: RoomEvent, now: RoomInstant) -> [RoomAction] {
        var actions: [RoomAction] = []
        if handler.version != handlerStateVersion { migrateHandlerValues(into: &actions) }
        switch event {
        case .join(let member, let ref, let payload):
            join(member, ref: ref, payload: payload, now: now, into: &actions)
        case .leave(let connectionID):
            leave(connectionID, now: now, into: &actions)
        case .chat(let connectionID, let body, let clientID, let ref):
            var members = [JSONMember("body", .string(body))]
            if let clientID { members.append(JSONMember("client_id", clientID)) }
            handleIn(
                from: connectionID, event: "new_msg", payload: .object(members), ref: ref, now: now, into: &actions)
        case .handleIn(let connectionID, let event, let payload, let ref):
            handleIn(from: connectionID, event: event, payload: payload, ref: ref, now: now, into: &actions)
        case .refuse(let connectionID, let ref, let response):
            guard let member = member(connectionID) else { break }
            queueReply(to: member, ref: ref, status: "error", response: response, into: &actions)
        case .publish(let request):
            publish(request, now: now, into: &actions)
        case .publishEvent(let event, let payload):
            broadcast(event: event, payload: payload, into: &actions)
        case .typing(let connectionID):
            handleIn(from: connectionID, event: "typing", payload: .emptyObject, ref: nil, now: now, into: &actions)
        case .historyRead(let request, let messages, let complete):
            finishRecoveringJoin(request, messages: messages, complete: complete, into: &actions)
        case .commitDue(let held):
            commitDue(held: held, into: &actions)
        case .committed(let batch, let durable):
            committed(batch: batch, durable: durable, into: &actions)
        case .sequenced(let batch, let ids):
            sequenced(batch: batch, ids: ids, into: &actions)
        case .delivered(let messages, let upTo):
            deliver(messages, upTo: upTo, into: &actions)
        case .timer:
            timer(now: now, into: &actions)
        case .restarted:
            releaseHeldBatches(.upgradeOrRestart, into: &actions)
            resyncPresence(into: &actions)
        case .stage:
            actions.append(
                .staged(
                    StagedRoom(
                        topic: topic, presenceGeneration: presenceGeneration, presence: presence.exportState(),
                        assigns: memberAssigns, authors: authors, seatsGeneration: seatsGeneration)))
        case .export(let stagedPresence, let stagedSeats):
            if inFlight.isEmpty { releaseHeldBatches(.upgradeOrRestart, into: &actions) }
            let exported = snapshot(stagedPresence: stagedPresence, stagedSeats: stagedSeats, now: now)
            if exported != nil { releaseReadyReplies(into: &actions) }
            actions.append(.exported(exported))
        case .resumeAfterHandoff:
            if timersRelative {
                timersRelative = false
                for index in handlerTimers.indices { handlerTimers[index].due += now.monotonic }
                for due in Set(handlerTimers.map(\.due)).sorted() { actions.append(.wakeAt(due)) }
            }
            if pendingHandoffFlush {
                pendingHandoffFlush = false
                recordPresenceChange(now: now, into: &actions)
            }
            if !pending.isEmpty { commitDue(held: false, into: &actions) }
        }
        if !heldDeliveries.isEmpty { releaseHeldBatchBeforeOthers(after: event, in: &actions) }
        let every = configuration.batchCountsEvery
        if every > 0, batchCounts.durable >= batchCountsLoggedAt + every {
            batchCountsLoggedAt = batchCounts.durable  // last, so the line never splits a run of deliveries
            actions.append(.log(.notice, "durable batches: \(batchCounts.summary)"))
        }
        return actions
    }
}
