import HoldfastActors
import HoldfastCluster
import HoldfastCore
import HoldfastHandoff
import HoldfastHistory
import HoldfastRooms
import HoldfastWeb
import HoldfastWebSocket
import HoldfastWebhooks
import Logging
import Synchronization

/// The actor behavior of a room: runs the room's ``RoomState`` on its home loop and performs the actions it
/// returns (deliveries, fan-out, history reads and commits, timers). Everything the room decides is in the state;
/// this type only does the I/O.
///
/// The state is built at the first message (so the SQLite connection of the home loop is only used there): empty,
/// imported from a binary upgrade, or, after a restart, recovered from the last state the room reached (and
/// every member then gets the presence again).
final class RoomRuntime: ActorBehavior {
    typealias Message = RoomMessage

    let topic: String
    let services: RoomServices
    let keep: RoomKeep
    private var started = false
    private var reportedMembers = 0
    /// A join's member object while the state decides it (it enters the keep when admitted).
    private var joining: RoomMember?
    /// The sink of the staging or export message being handled.
    private var sink: RoomExportSink?
    /// Deliveries of the actions performed so far, per member loop, until ``sendDeliveries()``.
    private var outgoing = FanOutByLoop<RoomMember, EncodedBroadcast>()

    init(topic: String, services: RoomServices, keep: RoomKeep) {
        self.topic = topic
        self.services = services
        self.keep = keep
    }

    func handle(_ message: RoomMessage, context: ActorContext<RoomMessage>) throws {
        if !started { try start(context: context) }
        if let cluster = keep.cluster {  // clustered: what Redis answers, and messages held until it has
            if case .cluster(let input) = message {
                try cluster.handle(input) { try run($0, context: context) }
                for held in cluster.releaseHeld() { try handle(held, context: context) }
                return
            }
            let isJoin = if case .join = message { true } else { false }
            guard cluster.admit(message, isJoin: isJoin) else { return }
        }
        let event: RoomEvent
        switch message {
        case .join(let member, let ref, let payload):
            joining = member
            event = .join(member.identity, ref: ref, payload: payload)
        case .leave(let connectionID):
            event = .leave(connectionID: connectionID)
        case .handleIn(let connectionID, let name, let payload, let ref):
            event = .handleIn(connectionID: connectionID, event: name, payload: payload, ref: ref)
        case .publish(let request, let answer):
            keep.publishWaiters[request.ticket] = answer
            event = .publish(request)
        case .publishEvent(let name, let payload):
            event = .publishEvent(event: name, payload: payload)
        case .inspect(let body):
            if let state = keep.state { body(state, services.history(for: context.loop)) }
            return
        case .refuse(let connectionID, let ref, let response):
            event = .refuse(connectionID: connectionID, ref: ref, response: response)
        case .commitPending:
            event = .commitDue(held: services.commitsHeld.load(ordering: .acquiring))
        case .timer:
            event = .timer
        case .committed(let batch, let durable):
            event = .committed(batch: batch, durable: durable)
        case .stageForHandoff(let sink):
            self.sink = sink
            event = .stage
        case .exportForHandoff(let sink, let stagedPresence, let stagedSeats):
            self.sink = sink
            event = .export(stagedPresence: stagedPresence, stagedSeats: stagedSeats)
        case .resumeAfterHandoff:
            event = .resumeAfterHandoff
        case .cluster:
            return
        }
        defer { (joining, sink) = (nil, nil) }
        try run(event, context: context)
    }

    /// Builds the state: imported, recovered after a restart, or new.
    private func start(context: ActorContext<RoomMessage>) throws {
        started = true
        let history = services.history(for: context.loop)
        if let bus = services.cluster, keep.cluster == nil {
            let (ref, seed) = (context.ref, keep.handoffSeed?.snapshot)
            keep.cluster = ClusterRoom(
                topic: topic, bus: bus, loop: context.loop, lastID: seed?.lastID ?? 0, current: seed != nil
            ) { _ = ref.send(.cluster($0)) }
        }
        if let seed = keep.handoffSeed {
            keep.handoffSeed = nil
            let members = [UInt64: Member](
                seed.members.values.joined().lazy.map { ($0.key, $0.value.identity) }, uniquingKeysWith: { $1 })
            let state = RoomState(
                importing: seed.snapshot, presence: seed.presence, members: members,
                configuration: services.configuration, handler: services.handler)
            // A member without presence (it never completed its join) gets nothing from this room.
            for id in members.keys where state.member(id) == nil { keep.remove(id) }
            keep.state = state
        } else if let previous = keep.state {
            keep.state = RoomState(recovering: previous, lastStoredID: try history.lastID(room: topic))
            // The messages on their way to durability are forgotten: their publishers hear it now.
            for answer in keep.publishWaiters.values { answer(.failed) }
            keep.publishWaiters = [:]
            services.logger.notice("room restarted, presence rebuilt",
                metadata: ["room": "\(topic)", "restarts": "\(context.restartCount)"])
            try run(.restarted, context: context)
        } else {
            keep.state = RoomState(
                topic: topic, configuration: services.configuration, channel: services.handler,
                lastID: keep.cluster == nil ? try history.lastID(room: topic) : 0)
        }
    }

    /// Hands `event` to the state and performs what it asks, in order.
    private func run(_ event: RoomEvent, context: ActorContext<RoomMessage>) throws {
        guard var state = keep.state else { preconditionFailure("room state used before it was built") }
        // Out of the keep while it changes, so its tables stay uniquely referenced and change in place.
        keep.state = nil
        let now = services.now()
        let actions = state.handle(event, now: now)
        keep.state = state
        if state.memberCount != reportedMembers {  // the shared table's lock on joins and leaves only
            reportedMembers = state.memberCount
            keep.cluster?.membersChanged(reportedMembers)
            services.metrics.roomSizes.report(topic: topic, members: reportedMembers)
        }
        defer { sendDeliveries() }
        for action in actions {
            // Deliveries leave together; any other action comes after the deliveries made before it.
            if !action.isDelivery { sendDeliveries() }
            try perform(action, now: now, context: context)
        }
    }

    private func perform(_ action: RoomAction, now: RoomInstant, context: ActorContext<RoomMessage>) throws {
        let topic = self.topic  // for the deliveries' closures
        switch action {
        case .admit(let member):
            if let joining, joining.connectionID == member.connectionID { keep.add(joining) }
        case .dismiss(let connectionID):
            keep.remove(connectionID)
        case .finishJoin(let member, let ref, let result, let extra):
            guard let endpoint = joining ?? keep.member(member.connectionID) else { return }
            deliver(to: endpoint) { $0.joinFinished(member: endpoint, ref: ref, result: result, extra: extra) }
        case .close(let member, _):
            deliver(to: keep.member(member.connectionID)) { $0.channelClosed(topic: topic, joinRef: member.joinRef) }
        case .reply(let member, let ref, let status, let response):
            deliver(to: keep.member(member.connectionID)) {
                $0.reply(topic: topic, joinRef: member.joinRef, ref: ref, status: status, response: response)
            }
        case .push(let member, let message):
            deliver(to: keep.member(member.connectionID)) { $0.push(message, topic: topic, joinRef: member.joinRef) }
        case .broadcast(let broadcast):
            keep.cluster?.relay(broadcast)
            fanOut(broadcast)
        case .sendPresenceState(let members, let payload):
            var frame = PresenceStateFrame(  // clustered: the payload merged with every other node's members
                topic: topic, payload: payload, merge: keep.cluster.map { $0.presenceState(local:) }, deflateLevel: services.deflateLevel)
            for member in members {
                let (prefix, body) = frame.message(joinRef: member.joinRef, version: member.version)
                deliver(to: keep.member(member.connectionID)) {
                    $0.pushEncoded(prefix: prefix, body: body, topic: topic, joinRef: member.joinRef)
                }
            }
        case .readHistory(let request):
            if let cluster = keep.cluster { return cluster.readHistory(request) }
            let found = try services.history(for: context.loop).messages(
                room: topic, after: request.afterID, limit: request.limit)
            let messages = found.messages.map(ChatMessage.init)
            try run(.historyRead(request, messages: messages, complete: found.complete), context: context)
        case .scheduleCommit:
            // Queued behind the messages already in the mailbox: one transaction for all of them.
            _ = context.ref.send(.commitPending)
        case .scheduleCommitAfterFanOut:  // the deliveries were handed over first: after their writes and reads
            context.loop.executeAfterTurn { [mailbox = context.ref] in _ = mailbox.send(.commitPending) }
        case .persist(let batch, let messages):
            let (webhooks, room, mailbox) = (services.webhooks, topic, context.ref)
            if let cluster = keep.cluster {
                return cluster.store(batch: batch, messages: messages) { webhooks?.recordMessages($0, topic: room) }
            }
            services.historyWriter.submit(messages.map { StoredMessage(room: topic, $0) }) { durable in
                if durable { webhooks?.recordMessages(messages, topic: room) }
                _ = mailbox.send(.committed(batch: batch, durable: durable))
            }
        case .wakeAt(let deadline):
            let mailbox = context.ref
            let delay = deadline - now.monotonic
            if delay <= 0 {
                _ = mailbox.send(.timer)
            } else {
                context.loop.schedule(afterMilliseconds: delay) { _ = mailbox.send(.timer) }
            }
        case .staged(let staged):
            sink?.add(staged: staged)
        case .exported(let snapshot):
            sink?.add(snapshot, topic: topic)
            keep.cluster?.exportPresence()
        case .log(let level, let text):
            services.logger.log(level: level == .error ? .error : .notice, "\(text)", metadata: ["room": "\(topic)"])
        case .answerPublish(let ticket, let outcome):
            keep.publishWaiters.removeValue(forKey: ticket)?(outcome)
        case .membership(let change):
            services.webhooks?.record(WebhookEvent(change, topic: topic, timeMilliseconds: now.wall))
        }
    }

    /// Frames the room's texts once and adds them to each member loop's deliveries (the members left out, a few
    /// against a loop's list, are skipped there; `only`: a held batch's senders).
    private func fanOut(_ broadcast: RoomBroadcast) {
        let isDiff = broadcast.event == "presence_diff"
        if isDiff { services.metrics.presenceDiffs.add(broadcast.recipients) }
        let encoded = EncodedBroadcast(  // a diff goes out alone: each member's write at once (see its flag)
            [broadcast.v1, broadcast.v2], deflateLevel: services.deflateLevel, writtenAtOnce: isDiff)
        let left = broadcast.except.compactMap { keep.member($0) }
        let only = broadcast.only.map { $0.compactMap { keep.member($0) }.map { ($0.loop, [$0]) } }
        for (loop, members) in only ?? keep.membersByLoop() {
            if only != nil { outgoing.to(loop).directedFirst = true }  // a batch's senders served before the room
            let skipped = left.filter { $0.loop === loop }
            services.metrics.deliveries.add(outgoing.to(loop).broadcast(encoded, to: members, except: skipped))
        }
    }

    /// Runs `body` with `member`'s endpoint on its loop, if the connection is still open then, in order with the
    /// room's other deliveries to it.
    private func deliver(to member: RoomMember?, _ body: @escaping @Sendable (MemberEndpoint) -> Void) {
        guard let member else { return }
        outgoing.to(member.loop).deliver(to: member) { if member.isOpen { body(member.endpoint) } }
    }

    /// Hands each member loop one task with its deliveries: a run of broadcasts reaches each member in one call.
    private func sendDeliveries() {
        outgoing.send(prepare: { SharedFrameRun($0) }) { member, run in
            if member.isOpen { member.endpoint.deliverBroadcasts(run, version: member.version) }
        }
    }
}
