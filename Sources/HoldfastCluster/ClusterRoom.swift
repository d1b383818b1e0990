import HoldfastChannels
import HoldfastClusterPresence
public import HoldfastCore
import HoldfastJSON
import HoldfastRedis
public import HoldfastRooms
import Logging

/// A room's side of the cluster, on the room's home loop: stores its messages through the store script, delivers
/// what comes back on the bus through its ``RoomFeed``, reads recovering joins' history from the Stream, relays
/// its other broadcasts to the other nodes, and subscribes only while it has members here.
///
/// The room's actor asks ``admit(_:isJoin:)`` before handling each mailbox message: while a read that must come
/// first is in flight (the room's sequence when its first member here arrives, a recovering join's history), the
/// message is held and handed back by ``releaseHeld()`` in order, so nothing overtakes a join's replay.
///
/// `Message` is the room mailbox's message type; answers come back through `send` as ``ClusterRoomInput``s.
/// Thread ownership: the room's home loop.
public final class ClusterRoom<Message: Sendable>: @unchecked Sendable {
    /// How long a room stays subscribed after its last member here left (absorbs reconnect churn).
    public static var unsubscribeDelayMilliseconds: Int64 { 3_000 }
    /// Entries per Stream read of the feed.
    static var readCount: Int { 1_000 }

    public let topic: String
    let bus: ClusterBus
    let loop: EventLoop
    let send: @Sendable (ClusterRoomInput) -> Void
    public private(set) var feed: RoomFeed
    /// Whether the feed's last id is current: false until the first member here arrives, and again once the room
    /// unsubscribed (messages went by unseen).
    private var baselineKnown: Bool
    private var subscribed = false
    private var members = 0
    private var unsubscribeGeneration = 0
    /// Reads in flight that hold the mailbox.
    private var awaiting = 0
    private var held: [Message] = []
    /// Set while the room handles what came from the bus: its broadcasts are not relayed back.
    private var relaying = false
    /// The room's presence across nodes, while it has (or recently had) members here.
    private var presence: ClusterPresenceDriver?

    /// A room whose last delivered id is `lastID`; `current`: that id is up to date (a room handed over by a
    /// binary upgrade), else it is read when the first member arrives.
    public init(
        topic: String, bus: ClusterBus, loop: EventLoop, lastID: Int64, current: Bool,
        send: @escaping @Sendable (ClusterRoomInput) -> Void
    ) {
        self.topic = topic
        self.bus = bus
        self.loop = loop
        self.send = send
        feed = RoomFeed(lastDelivered: lastID)
        baselineKnown = current
        if current, let carried = bus.presence.takeImported(topic) {
            do {
                startPresence(
                    try ClusterPresence(
                        importing: carried, room: topic, node: bus.nodeName,
                        windowMilliseconds: bus.presence.windowMilliseconds))
            } catch {
                bus.logger.warning("carried presence not read", metadata: ["room": "\(topic)", "error": "\(error)"])
            }
        }
    }

    /// Whether the room handles `message` now; false: it is held until the read in flight is answered (a join
    /// into a room without a current last id starts that read, and one into a room without a presence view here
    /// reads the view).
    public func admit(_ message: Message, isJoin: Bool) -> Bool {
        if awaiting == 0 && isJoin {  // the sequence and the presence view are read side by side
            if !baselineKnown { readBaseline() }
            if presence == nil { seedPresence() }
        }
        guard awaiting > 0 else { return true }
        held.append(message)
        return false
    }

    /// The held messages, in order, once nothing holds the mailbox.
    public func releaseHeld() -> [Message] {
        guard awaiting == 0, !held.isEmpty else { return [] }
        defer { held = [] }
        return held
    }

    /// Handles an answer or a bus message; `run` hands the room the events that follow, in order.
    public func handle(_ input: ClusterRoomInput, run: (RoomEvent) throws -> Void) rethrows {
        switch input {
        case .bus(.message(let message)):
            guard subscribed else { return }
            try perform(feed.received(message), run: run)
        case .bus(.event(let name, let payload, _)):
            guard subscribed else { return }
            relaying = true
            defer { relaying = false }
            try run(.publishEvent(event: name, payload: payload))
        case .bus(.other(let kind, let body, _)):
            guard kind == ClusterPresenceMessage.kind, let presence else { return }
            do {
                presence.receive(try ClusterPresenceMessage(json: body))
            } catch {
                bus.logger.warning(
                    "presence message not understood", metadata: ["room": "\(topic)", "error": "\(error)"])
            }
        case .subscribed:
            guard subscribed else { return }
            presence?.subscribed()
            presence?.flushPending()
            try perform(feed.subscribed(), run: run)
        case .presenceSeeded:
            awaiting -= 1
        case .presencePush(let event, let payload):
            relaying = true
            defer { relaying = false }
            try run(.publishEvent(event: event, payload: payload))
        case .linkReady:
            presence?.linkReady()
        case .ownershipLost(let done):
            guard let presence else { return done() }
            presence.linkReady(done)
        case .nodeGone(let name):
            presence?.dropNode(name)
        case .baseline(.success(let id)):
            awaiting -= 1
            baselineKnown = true
            feed.advance(to: id)
            subscribe()
            try run(.delivered([], upTo: feed.lastDelivered))
        case .baseline(.failure(let error)):
            bus.logger.warning(
                "room sequence not read, retrying", metadata: ["room": "\(topic)", "error": "\(error)"])
            _ = loop.schedule(afterMilliseconds: 500) { [self] in sendBaselineRead() }
        case .fetched(.success(let messages), let full):
            try perform(feed.fetched(messages, full: full), run: run)
        case .fetched(.failure(let error), _):
            bus.logger.warning("room stream not read", metadata: ["room": "\(topic)", "error": "\(error)"])
            try perform(feed.fetchFailed(), run: run)
        case .stored(let batch, let ids):
            try run(.sequenced(batch: batch, ids: ids))
        case .history(let request, let result):
            awaiting -= 1
            let messages = (try? result.get()) ?? []
            let complete =
                (try? result.get()) != nil && messages.count < request.limit
                && (messages.first.map { $0.id == request.afterID + 1 } ?? true)
            try run(.historyRead(request, messages: messages, complete: complete))
        case .unsubscribeDue(let generation):
            guard generation == unsubscribeGeneration, members == 0, subscribed else { return }
            subscribed = false
            baselineKnown = false
            bus.unsubscribe(topic)
            closePresence()
        }
    }

    /// The room's member count here changed: subscribe with the first, unsubscribe a while after the last.
    public func membersChanged(_ count: Int) {
        members = count
        unsubscribeGeneration += 1
        if count > 0 {
            if !subscribed && baselineKnown { subscribe() }
        } else if subscribed {
            let (generation, send) = (unsubscribeGeneration, self.send)
            _ = loop.schedule(afterMilliseconds: Self.unsubscribeDelayMilliseconds) {
                send(.unsubscribeDue(generation: generation))
            }
        }
    }

    /// Stores a batch: one script run per message; the ids come back as ``RoomEvent/sequenced(batch:ids:)``, and
    /// `stored` gets the messages that were stored, with their ids (webhooks). The last delivered id is the floor
    /// where a sequence that Redis lost starts again.
    public func store(batch: Int, messages: [ChatMessage], stored: @escaping ([ChatMessage]) -> Void) {
        let send = self.send
        bus.store(messages, topic: topic, floor: feed.lastDelivered, on: loop) { ids in
            let durable = zip(messages, ids).compactMap { message, id -> ChatMessage? in
                guard let id else { return nil }
                var numbered = message
                numbered.id = id
                return numbered
            }
            if !durable.isEmpty { stored(durable) }
            send(.stored(batch: batch, ids: ids))
        }
    }

    /// A recovering join's read of the Stream; the mailbox is held until it is answered.
    public func readHistory(_ request: HistoryRequest) {
        awaiting += 1
        let send = self.send
        bus.read(topic, after: request.afterID, count: max(1, request.limit), on: loop) {
            send(.history(request, $0))
        }
    }

    /// A broadcast the room made for its members here: other nodes get it too (events such as `typing`), except
    /// chat messages (the store publishes those) and what came from the bus. Presence diffs go to
    /// the hook of ``ClusterBus/onPresenceDiff(_:)`` (the presence module's).
    public func relay(_ broadcast: RoomBroadcast) {
        guard !relaying, broadcast.event != "new_msg" else { return }
        if broadcast.event == "presence_diff" {
            if let presence, let payload = broadcast.payload { presence.localDiff(payload) }
            bus.presenceDiff(topic, broadcast)
            return
        }
        guard let text = broadcast.v2 ?? broadcast.v1,
            let message = try? PhoenixSerializer.decode(text, version: broadcast.v2 != nil ? .v2 : .v1)
        else { return }
        bus.publish(
            topic: topic, kind: "event",
            [JSONMember("event", .string(broadcast.event)), JSONMember("payload", message.payload)], on: loop)
    }

    /// What a joining member's `presence_state` shows: `local` (the room's own presence, encoded) and the other
    /// nodes' entries.
    public func presenceState(local: [UInt8]) -> [UInt8] {
        guard let presence, presence.state.remoteCount > 0, let value = try? JSON.parse(local) else { return local }
        return JSON.encode(presence.state.statePayload(local: value))
    }

    /// The room's view for a binary upgrade's handoff (old process, during its export).
    public func exportPresence() {
        if let presence { bus.presence.export(topic, presence.state.exportSnapshot()) }
    }

    /// The room's first member here is about to join: a new view, seeded from Redis before the join goes on.
    private func seedPresence() {
        startPresence(
            ClusterPresence(room: topic, node: bus.nodeName, windowMilliseconds: bus.presence.windowMilliseconds))
        guard let presence else { return }
        awaiting += 1
        let send = self.send
        bus.whenStarted(on: loop) { presence.seed { send(.presenceSeeded) } }
    }

    private func startPresence(_ state: ClusterPresence) {
        let driver = ClusterPresenceDriver(state: state, client: bus.client(for: loop))
        let (send, logger, topic) = (self.send, bus.logger, topic)
        driver.onPushDiff = { send(.presencePush(event: "presence_diff", payload: $0)) }
        driver.onPushState = { send(.presencePush(event: "presence_state", payload: $0)) }
        driver.onProblem = { logger.warning("cluster presence", metadata: ["room": "\(topic)", "problem": "\($0)"]) }
        presence = driver
        bus.presence.register(topic, on: loop, send)
    }

    /// The room has no members here any more (its last leave diff went out with them): the view goes.
    private func closePresence() {
        guard let presence else { return }
        presence.close()
        self.presence = nil
        bus.presence.register(topic, on: loop, nil)
    }

    private func perform(_ steps: [RoomFeed.Step], run: (RoomEvent) throws -> Void) rethrows {
        for step in steps {
            switch step {
            case .deliver(let messages):
                relaying = true
                defer { relaying = false }
                try run(.delivered(messages, upTo: feed.lastDelivered))
            case .fetch(let after):
                let send = self.send
                bus.read(topic, after: after, count: Self.readCount, on: loop) { result in
                    send(.fetched(result, full: ((try? result.get())?.count ?? 0) >= Self.readCount))
                }
            }
        }
    }

    private func subscribe() {
        subscribed = true
        bus.subscribe(topic, route: send)
    }

    private func readBaseline() {
        awaiting += 1
        sendBaselineRead()
    }

    private func sendBaselineRead() {
        let (send, client, key) = (self.send, bus.client(for: loop), ClusterKeys(topic: topic).sequence)
        bus.whenStarted(on: loop) { client.send(["GET", RedisArgument(key)]) { send(.baseline(Self.sequence($0))) } }
    }

    /// A `GET` of a sequence: its value, 0 when unset.
    static func sequence(_ result: Result<RedisReply, RedisError>) -> Result<Int64, RedisError> {
        result.flatMap { reply in
            if case .null = reply { return .success(0) }
            guard let text = reply.string, let value = Int64(text) else { return .failure(.unexpectedReply(reply)) }
            return .success(value)
        }
    }
}
