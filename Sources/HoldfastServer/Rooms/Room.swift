import Glibc
import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastHandoff
import HoldfastHistory
import HoldfastJSON
import HoldfastPresence
import HoldfastWebSocket
import Logging
import Synchronization

/// What a room is asked to do; every message is handled on the room's home loop, one at a time.
enum RoomMessage: Sendable {
    /// A connection joins (the member carries its identity and where to deliver).
    case join(RoomMember, ref: String?, payload: JSONValue)
    /// A connection leaves (phx_leave, a rejoin, or the socket closed).
    case leave(connectionID: UInt64)
    /// A chat message from a member.
    case chat(connectionID: UInt64, body: String, clientID: JSONValue?, ref: String?)
    /// A typing notice from a member, relayed to the others.
    case typing(connectionID: UInt64)
    /// Internal: make the pending chat messages durable (sent by the room to itself, so it queues behind the
    /// messages already in the mailbox and is held while the room is suspended for an upgrade).
    case commitPending
    /// Internal: the presence coalescing window ended.
    case flushPresence
    /// Internal: the history writer committed (or failed) the batch with this number.
    case committed(batch: Int, durable: Bool)
    /// Binary upgrade, old process, while serving: add this room's presence to the sink (staging).
    case stageForHandoff(RoomExportSink)
    /// Binary upgrade, old process, in the pause: add this room's state to the sink (the process is quiescent by
    /// then), with its presence only if it moved since the staged copy of `stagedPresence` generation.
    case exportForHandoff(RoomExportSink, stagedPresence: UInt64?)
    /// Binary upgrade, new process: the room was rebuilt from a handoff; flush the presence window it carried.
    case resumeAfterHandoff
}

/// One chat room: its members, presence, message numbering and the batch of messages waiting to become durable.
///
/// Thread ownership: everything here runs on `loop`, the room's home loop. Members live on any loop; the room
/// reaches them only through ``RoomMember/deliver(_:)``.
///
/// `@unchecked Sendable`: closures that re-enter the room are only ever scheduled on `loop`.
///
/// Restart: a room rebuilds itself from what outlives it: the members' joins (the room registry keeps them),
/// each member's presence meta and phx_ref (kept in `RoomMembership`), and the history in SQLite.
final class Room: @unchecked Sendable {
    let topic: String
    unowned let loop: EventLoop
    let services: RoomServices
    let membership: RoomMembership
    /// The room's own mailbox: deferred work goes through it, never around it, so suspension holds it too.
    let mailbox: ActorRef<RoomMessage>
    private var presence: PresenceState
    private var coalescer: PresenceDiffCoalescer
    private var lastID: Int64
    /// Accepted messages not yet handed to the history writer, with who to acknowledge (nil: the sender's join
    /// did not come across a binary upgrade, so there is no one to answer).
    private var pending: [(message: StoredMessage, sender: RoomMember?, ref: String?)] = []
    /// Members that joined since the last presence flush: they get the full `presence_state` (encoded once for all
    /// of them) at the flush instead of the diff.
    private var awaitingState: [UInt64: RoomMember] = [:]
    private var commitScheduled = false
    /// Batches handed to the history writer, by number, until it reports them durable.
    private var inFlight: [Int: [(message: StoredMessage, sender: RoomMember?, ref: String?)]] = [:]
    private var nextBatch = 0
    /// Set when a handed-over room carried a presence window that still has to be flushed.
    private var pendingHandoffFlush = false
    /// Bumped by every change to `presence`, so a binary upgrade resends a room's presence only if it moved
    /// since staging.
    private var presenceGeneration: UInt64 = 0

    init(
        topic: String, loop: EventLoop, services: RoomServices, membership: RoomMembership,
        mailbox: ActorRef<RoomMessage>
    ) throws {
        self.topic = topic
        self.mailbox = mailbox
        self.loop = loop
        self.services = services
        self.membership = membership
        self.presence = PresenceState(refPrefix: services.presenceRefPrefix)
        self.coalescer = PresenceDiffCoalescer(windowMilliseconds: services.presenceWindowMilliseconds)
        self.lastID = max(try services.history(for: loop).lastID(room: topic), membership.lastAssignedID)
        if let seed = membership.takeHandoffSeed() {
            adopt(seed)
            return
        }
        // After a restart: re-track every live member with its old phx_ref, so clients see no change.
        for entry in membership.entries {
            presence.track(owner: entry.member.connectionID, key: entry.member.user, meta: entry.meta, phxRef: entry.phxRef)
        }
        _ = presence.takeDiff()
    }

    /// Continues a room handed over by the previous process: its presence exactly as it was (phx_refs, the
    /// pending diff), and the joiners still waiting for `presence_state`. A member whose connection did not make
    /// it across (closed by the old process at the last moment) leaves as if its socket had closed here.
    private func adopt(_ seed: RoomHandoffSeed) {
        // Each member tracked one meta under its phx_ref when it joined.
        for entry in seed.presence.entries {
            guard let member = seed.members[entry.owner] else { continue }
            membership.add(member, meta: .object(entry.fields), phxRef: entry.ref)
        }
        presence = PresenceState(importing: seed.presence)
        for owner in Set(seed.presence.entries.map(\.owner)) where membership.member(owner) == nil {
            presence.untrackAll(owner: owner)
            pendingHandoffFlush = true
        }
        for id in seed.awaitingState {
            if let member = membership.member(id) { awaitingState[id] = member }
        }
        if !seed.presence.changes.isEmpty || !awaitingState.isEmpty { pendingHandoffFlush = true }
        // Accepted but not yet durable when the old process paused (it holds commits then): commit them here.
        for message in seed.pending {
            pending.append((message.message, seed.members[message.senderConnectionID], message.ref))
        }
    }

    /// The room's state for a binary upgrade; nil while messages are between the room and the history writer
    /// (the upgrade drains those first, so nil means it must give up and roll back).
    func handoffSnapshot(stagedPresence: UInt64?) -> RoomSnapshot? {
        guard inFlight.isEmpty else { return nil }
        return RoomSnapshot(
            topic: topic, lastID: max(lastID, membership.lastAssignedID),
            presence: stagedPresence == presenceGeneration ? nil : presence.exportState(),
            awaitingState: Array(awaitingState.keys),
            pending: pending.compactMap { item in
                item.sender.map { PendingMessage(message: item.message, senderConnectionID: $0.connectionID, ref: item.ref) }
            })
    }

    /// The room's presence for staging, with the generation it was copied at.
    func stagedPresence() -> StagedRoom {
        StagedRoom(topic: topic, presenceGeneration: presenceGeneration, presence: presence.exportState())
    }

    var memberCount: Int { membership.count }

    func handle(_ message: RoomMessage) throws {
        switch message {
        case .join(let member, let ref, let payload):
            try join(member, ref: ref, payload: payload)
        case .leave(let connectionID):
            leave(connectionID)
        case .chat(let connectionID, let body, let clientID, let ref):
            chat(from: connectionID, body: body, clientID: clientID, ref: ref)
        case .typing(let connectionID):
            guard let member = membership.member(connectionID) else { return }
            let payload = JSONValue.object([JSONMember("user", .string(member.user))])
            broadcast(event: "typing", payload: payload, except: [connectionID])
        case .commitPending:
            commitPending()
        case .flushPresence:
            flushPresence()
        case .committed(let batch, let durable):
            committed(batch: batch, durable: durable)
        case .stageForHandoff(let sink):
            sink.add(staged: stagedPresence())
        case .exportForHandoff(let sink, let stagedPresence):
            sink.add(handoffSnapshot(stagedPresence: stagedPresence), topic: topic)
        case .resumeAfterHandoff:
            if pendingHandoffFlush {
                pendingHandoffFlush = false
                recordPresenceChange()
            }
            if !pending.isEmpty { commitPending() }
        }
    }

    // MARK: Joining and leaving

    private func join(_ member: RoomMember, ref: String?, payload: JSONValue) throws {
        let now = wallClockMilliseconds()
        switch services.handler.authorizeJoin(topic: topic, user: member.user, payload: payload, now: now) {
        case .deny(let reason):
            let response = JSONValue.object([JSONMember("reason", .string(reason))])
            member.deliver { $0.phoenix?.joinFinished(member: member, ref: ref, result: .error(response), extra: []) }
            return
        case .allow(let meta):
            if membership.member(member.connectionID) != nil { leave(member.connectionID) }
            let phxRef = presence.track(owner: member.connectionID, key: member.user, meta: meta)
            presenceGeneration &+= 1
            membership.add(member, meta: meta, phxRef: phxRef)
            recordPresenceChange()

            var recovered = true
            var missed: [StoredMessage] = []
            if let lastSeen = payload["last_seen_id"]?.integerValue, lastSeen < lastID {
                let found = try services.history(for: loop).messages(room: topic, after: lastSeen, limit: services.historyLimit)
                missed = found.messages
                recovered = found.complete
            }
            let response = JSONValue.object([
                JSONMember("last_id", .integer(lastID)), JSONMember("recovered", .bool(recovered)),
            ])
            // presence_state follows at the next presence flush (see `flushPresence`), encoded once for every
            // member that joined within the window: a burst of k joins costs one encode, not k.
            awaitingState[member.connectionID] = member
            var extra: [PhoenixMessage] = []
            for stored in missed {
                let payload = services.handler.messagePayload(
                    topic: topic, id: stored.id, user: stored.user, body: stored.body, timestamp: stored.timestamp,
                    clientID: stored.clientID.map { .string($0) }, replay: true)
                extra.append(PhoenixMessage(joinRef: member.joinRef, ref: nil, topic: topic, event: "new_msg", payload: payload))
            }
            member.deliver { [extra] in $0.phoenix?.joinFinished(member: member, ref: ref, result: .ok(response), extra: extra) }
        }
    }

    private func leave(_ connectionID: UInt64) {
        guard membership.remove(connectionID) != nil else { return }
        awaitingState.removeValue(forKey: connectionID)
        presence.untrackAll(owner: connectionID)
        presenceGeneration &+= 1
        recordPresenceChange()
    }

    // MARK: Presence diffs

    /// After a restart: every member gets the rebuilt `presence_state` (same keys and phx_refs as before).
    func resyncPresence() {
        let state = presence.statePayload()
        for entry in membership.entries {
            let member = entry.member
            let message = PhoenixMessage(joinRef: member.joinRef, ref: nil, topic: topic, event: "presence_state", payload: state)
            member.deliver { $0.phoenix?.push(message, topic: member.topic, joinRef: member.joinRef) }
        }
    }

    private func recordPresenceChange() {
        guard let flushAt = coalescer.changeRecorded(now: MonotonicClock.nowMilliseconds()) else { return }
        let delay = flushAt - MonotonicClock.nowMilliseconds()
        if delay <= 0 {
            _ = mailbox.send(.flushPresence)
        } else {
            let mailbox = self.mailbox
            loop.schedule(afterMilliseconds: delay) { _ = mailbox.send(.flushPresence) }
        }
    }

    private func flushPresence() {
        coalescer.flushed()
        let diff = presence.takeDiff()
        presenceGeneration &+= 1
        let joiners = awaitingState
        // After a burst of thousands of joiners the table would otherwise keep its size for the life of the room.
        awaitingState.removeAll(keepingCapacity: awaitingState.count <= 1024)
        // The diff goes first: it is small and every member waits for it, while encoding (and, on the joiner's
        // loop, compressing) the whole state for the joiners takes tens of milliseconds in a large room. The
        // joiners' state already includes this window's changes, so they are left out of the diff.
        let recipients = membership.count - joiners.count
        if let diff, recipients > 0 {
            services.metrics.presenceDiffs.add(recipients)
            broadcast(event: "presence_diff", payload: diff, except: Set(joiners.keys))
        }
        guard !joiners.isEmpty else { return }
        let state = PresenceStateFrame(
            topic: topic, payload: JSON.encode(presence.statePayload()), deflateLevel: services.deflateLevel)
        for member in joiners.values {
            let (prefix, body) = state.message(joinRef: member.joinRef, version: member.version)
            member.deliver { $0.phoenix?.pushEncoded(prefix: prefix, body: body, topic: member.topic, joinRef: member.joinRef) }
        }
    }

    // MARK: Chat

    private func chat(from connectionID: UInt64, body: String, clientID: JSONValue?, ref: String?) {
        guard let sender = membership.member(connectionID) else { return }
        if let problem = services.handler.validateMessage(topic: topic, user: sender.user, body: body) {
            let response = JSONValue.object([JSONMember("reason", .string(problem))])
            sender.deliver { $0.phoenix?.reply(topic: sender.topic, joinRef: sender.joinRef, ref: ref, status: "error", response: response) }
            return
        }
        lastID += 1
        membership.lastAssignedID = lastID
        let stored = StoredMessage(
            room: topic, id: lastID, user: sender.user, body: body, timestamp: wallClockMilliseconds(),
            clientID: clientID?.stringValue)
        pending.append((stored, sender, ref))
        if !commitScheduled {
            commitScheduled = true
            // Queued behind the messages already in the mailbox: one transaction for all of them.
            _ = mailbox.send(.commitPending)
        }
    }

    /// Hands the pending messages to the history writer (one transaction with other rooms' batches); they are
    /// broadcast and acknowledged when it reports them durable.
    private func commitPending() {
        commitScheduled = false
        // A binary upgrade holds commits around its pause: the pending messages go to the new process instead.
        guard !pending.isEmpty, !services.commitsHeld.load(ordering: .acquiring) else { return }
        let number = nextBatch
        nextBatch += 1
        inFlight[number] = pending
        let messages = pending.map(\.message)
        pending.removeAll(keepingCapacity: true)
        let mailbox = self.mailbox
        services.historyWriter.submit(messages) { durable in
            _ = mailbox.send(.committed(batch: number, durable: durable))
        }
    }

    /// A batch is durable (broadcast it, acknowledge each sender) or failed (tell the senders; their ids stay
    /// unused, a gap the history tolerates).
    private func committed(batch number: Int, durable: Bool) {
        guard let batch = inFlight.removeValue(forKey: number) else { return }
        guard durable else {
            services.logger.error("history append failed; messages not acknowledged", metadata: ["room": "\(topic)"])
            for item in batch {
                guard let sender = item.sender else { continue }
                let ref = item.ref
                let response = JSONValue.object([JSONMember("reason", .string("message not stored, try again"))])
                sender.deliver { $0.phoenix?.reply(topic: sender.topic, joinRef: sender.joinRef, ref: ref, status: "error", response: response) }
            }
            return
        }
        for item in batch {
            let stored = item.message
            let payload = services.handler.messagePayload(
                topic: topic, id: stored.id, user: stored.user, body: stored.body, timestamp: stored.timestamp,
                clientID: stored.clientID.map { .string($0) }, replay: false)
            broadcast(event: "new_msg", payload: payload)
            guard let sender = item.sender else { continue }
            let ref = item.ref
            let response = JSONValue.object([JSONMember("id", .integer(stored.id))])
            sender.deliver { $0.phoenix?.reply(topic: sender.topic, joinRef: sender.joinRef, ref: ref, status: "ok", response: response) }
        }
    }

    // MARK: Fan-out

    /// Encodes the push once per serializer version and hands each member loop one task that writes it to
    /// every local member.
    private func broadcast(event: String, payload: JSONValue, except: Set<UInt64> = []) {
        let message = PhoenixMessage(joinRef: nil, ref: nil, topic: topic, event: event, payload: payload)
        var encoded = EncodedBroadcast()
        for version in [PhoenixSerializerVersion.v1, .v2] where membership.countByVersion[version, default: 0] > 0 {
            var text: [UInt8] = []
            PhoenixSerializer.encode(message, version: version, into: &text)
            var frame: [UInt8] = []
            text.withUnsafeBytes { WebSocketFrame.appendFrame(opcode: .text, fin: true, payload: $0, into: &frame) }
            let shared = SharedDeflate(body: text, level: services.deflateLevel)
            if version == .v1 {
                encoded.v1Payload = shared
                encoded.v1Frame = frame
            } else {
                encoded.v2Payload = shared
                encoded.v2Frame = frame
            }
        }
        let sent = encoded
        for (loop, members) in membership.membersByLoop() {
            let recipients = except.isEmpty ? members : members.filter { !except.contains($0.connectionID) }
            guard !recipients.isEmpty else { continue }
            services.metrics.deliveries.add(recipients.count)
            loop.execute {
                for member in recipients {
                    guard let connection = member.connection else { continue }
                    connection.sendBroadcast(sent, version: member.version)
                }
            }
        }
    }
}

/// Milliseconds since the Unix epoch (message timestamps, presence `online_at`).
func wallClockMilliseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
}
