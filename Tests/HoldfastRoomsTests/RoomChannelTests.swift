import HoldfastChannels
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms
import Testing

/// A channel handler whose rules a test reads at a glance. Room state: `{"pings": N}`; assigns: `{"n": N}`.
/// `secret` broadcasts are intercepted: `eve` never gets them, everyone else gets them addressed.
struct FakeChannel: RoomChannel {
    var version = "1"
    var interceptedEvents: Set<String> { ["secret"] }

    func join(params: JSONValue, context: inout RoomChannelContext) -> RoomChannelJoin {
        guard context.user != "mallory" else { return .deny(reason: "unauthorized") }
        return .allow(
            reply: .object([JSONMember("hello", .string(context.user))]), presenceMeta: nil,
            assigns: .object([JSONMember("n", .integer(0))]))
    }

    func handleIn(event: String, payload: JSONValue, context: inout RoomChannelContext) -> [RoomChannelAction] {
        switch event {
        case "ping":
            let n = (context.assigns["n"]?.integerValue ?? 0) + 1
            context.assigns = .object([JSONMember("n", .integer(n))])
            let pings = (context.roomState["pings"]?.integerValue ?? 0) + 1
            context.roomState = .object([JSONMember("pings", .integer(pings))])
            return [.reply(status: "ok", payload: .object([JSONMember("n", .integer(n))]))]
        case "shout": return [.broadcast(event: "shouted", payload: payload)]
        case "murmur": return [.broadcastFrom(event: "murmured", payload: payload)]
        case "echo": return [.push(event: "echoed", payload: payload)]
        case "secret": return [.broadcast(event: "secret", payload: payload)]
        case "later": return [.scheduleTimer(tag: "tick", afterMilliseconds: 100)]
        case "kick": return [.kick(user: payload["user"]?.stringValue ?? "", reason: "kicked")]
        case "away": return [.updatePresence(meta: .object([JSONMember("status", .string("away"))]))]
        case "stop": return [.stop(reason: "closing")]
        case "new_msg": return [.store(body: payload["body"]?.stringValue ?? "", clientID: nil)]
        case "edit_msg", "delete_msg":
            let id = payload["id"]?.integerValue ?? 0
            guard context.messageAuthors[id] == context.user else {
                return [.reply(status: "error", payload: .reason("not your message"))]
            }
            let body = payload["body"]?.stringValue ?? ""
            return [.store(body: body, clientID: nil, kind: event == "edit_msg" ? .edit : .delete, target: id)]
        default: return [.reply(status: "error", payload: .reason("unknown event"))]
        }
    }

    func handleOut(event: String, payload: JSONValue, member: Member, assigns: JSONValue) -> JSONValue? {
        member.user == "eve" ? nil : .object([JSONMember("to", .string(member.user))])
    }

    func handleInfo(tag: String, context: inout RoomChannelContext) -> [RoomChannelAction] {
        [.broadcast(event: tag, payload: context.roomState)]
    }

    func leave(context: inout RoomChannelContext) -> [RoomChannelAction] {
        [.broadcast(event: "left", payload: .object([JSONMember("user", .string(context.user))]))]
    }

    func terminate(reason: String, context: inout RoomChannelContext) {
        context.roomState = .string("terminated: \(reason)")
    }

    func render(_ message: ChatMessage, replay: Bool, context: RoomChannelContext) -> JSONValue {
        .object([JSONMember("id", .integer(message.id)), JSONMember("text", .string(message.body))])
    }

    /// Version 2 keeps the pings under `"count"`.
    func migrateRoomState(fromVersion: String, _ state: JSONValue) throws -> JSONValue {
        .object([JSONMember("count", state["pings"] ?? .null)])
    }

    func migrateAssigns(fromVersion: String, _ assigns: JSONValue) throws -> JSONValue {
        .object([JSONMember("migrated_from", .string(fromVersion))])
    }
}

@Suite struct RoomChannelTests {
    private var room = RoomState(
        topic: "room:lab",
        configuration: RoomConfiguration(presenceRefPrefix: "C", presenceWindowMilliseconds: 20, historyLimit: 50),
        channel: FakeChannel(), lastID: 0)
    private var clock = FakeClock()

    private mutating func handle(_ event: RoomEvent) -> [RoomAction] { room.handle(event, now: clock.now) }

    private mutating func settle(_ member: Member) -> [RoomAction] {
        var actions = handle(.join(member, ref: "j", payload: .emptyObject))
        clock.advance(100)
        actions += handle(.timer)
        return actions
    }

    private mutating func push(_ id: UInt64, _ event: String, _ payload: JSONValue = .emptyObject) -> [RoomAction] {
        handle(.handleIn(connectionID: id, event: event, payload: payload, ref: "r"))
    }

    @Test mutating func aJoinKeepsTheAssignsAndAddsTheHandlersReply() {
        let actions = settle(member(1, "alice"))
        guard case .ok(let response)? = actions.joinResults.first?.result else {
            Issue.record("no ok join")
            return
        }
        #expect(response["hello"] == .string("alice") && response["last_id"] == .integer(0))
        #expect(room.seats[1]?.assigns == .object([JSONMember("n", .integer(0))]))
        let denied = handle(.join(member(2, "mallory"), ref: "j", payload: .emptyObject))
        guard case .error(let reason)? = denied.joinResults.first?.result else {
            Issue.record("mallory joined")
            return
        }
        #expect(reason == .reason("unauthorized"))
    }

    @Test mutating func handleInUpdatesAssignsAndRoomStateAndReplies() {
        _ = settle(member(1, "alice"))
        _ = settle(member(2, "bob"))
        _ = push(1, "ping")
        let second = push(1, "ping")
        _ = push(2, "ping")
        #expect(second.replies.first?.response == .object([JSONMember("n", .integer(2))]))
        #expect(room.seats[1]?.assigns["n"] == .integer(2) && room.seats[2]?.assigns["n"] == .integer(1))
        #expect(room.handlerState["pings"] == .integer(3))
    }

    @Test mutating func unknownAndReservedEventsGetAnErrorReply() {
        _ = settle(member(1, "alice"))
        for event in ["nonsense", "phx_join", "heartbeat"] {
            let actions = push(1, event)
            #expect(actions.replies.map(\.status) == ["error"])
            #expect(actions.replies.first?.response == .reason("unknown event"))
        }
    }

    @Test mutating func broadcastsAreEncodedOnceAndInterceptedEventsPerMember() {
        _ = settle(member(1, "alice"))
        _ = settle(member(2, "bob", version: .v1))
        _ = settle(member(3, "eve"))
        let shout = push(1, "shout", .object([JSONMember("x", .integer(1))]))
        #expect(shout.broadcasts.count == 1 && shout.broadcasts[0].recipients == 3)
        #expect(shout.broadcasts[0].v1 != nil)
        #expect(shout.broadcasts[0].v2Payload == .object([JSONMember("x", .integer(1))]))
        let murmur = push(1, "murmur")
        #expect(murmur.broadcasts.first?.except == [1] && murmur.broadcasts.first?.recipients == 2)
        let secret = push(1, "secret")
        #expect(secret.broadcasts.isEmpty)
        let pushes = secret.compactMap { action -> (UInt64, JSONValue)? in
            guard case .push(let member, let message) = action else { return nil }
            return (member.connectionID, message.payload)
        }.sorted { $0.0 < $1.0 }
        #expect(pushes.map(\.0) == [1, 2])
        let addressed = ["alice", "bob"].map { JSONValue.object([JSONMember("to", .string($0))]) }
        #expect(pushes.map(\.1) == addressed)
        let echo = push(2, "echo", .string("hi"))
        guard case .push(let target, let message)? = echo.first else {
            Issue.record("no push")
            return
        }
        #expect(target.connectionID == 2 && message.event == "echoed" && message.joinRef == "jr2")
    }

    @Test mutating func aTimerFiresAtItsTimeWithTheRoomState() {
        _ = settle(member(1, "alice"))
        _ = push(1, "ping")
        let scheduled = push(1, "later")
        #expect(scheduled.wakeTimes == [clock.monotonic + 100])
        clock.advance(50)
        #expect(handle(.timer).broadcasts.filter { $0.event == "tick" }.isEmpty)
        clock.advance(50)
        let fired = handle(.timer).broadcasts.filter { $0.event == "tick" }
        #expect(fired.count == 1 && fired.first?.v2Payload == .object([JSONMember("pings", .integer(1))]))
        #expect(room.handlerTimers.isEmpty)
    }

    @Test mutating func aKickClosesEverySocketOfTheUserAndTheHandlerSeesTheLeaves() {
        _ = settle(member(1, "alice"))
        _ = settle(member(2, "bob"))
        _ = settle(member(3, "bob"))
        let actions = push(1, "kick", .object([JSONMember("user", .string("bob"))]))
        let closed = actions.compactMap { if case .close(let member, _) = $0 { member.connectionID } else { nil } }
        #expect(Set(closed) == [2, 3])
        #expect(actions.broadcasts.filter { $0.event == "left" }.count == 2)
        #expect(room.memberCount == 1 && room.devicesByUser["bob"] == nil)
    }

    @Test mutating func updatePresenceReplacesTheMetaInTheNextDiff() {
        _ = settle(member(1, "alice"))
        _ = settle(member(2, "bob"))
        let actions = push(1, "away")
        #expect(!actions.wakeTimes.isEmpty)
        clock.advance(100)
        let diff = handle(.timer).broadcasts.first { $0.event == "presence_diff" }
        let joins = diff?.v2Payload?["joins"]?["alice"]?["metas"]
        guard case .array(let metas)? = joins else {
            Issue.record("no diff for alice")
            return
        }
        #expect(metas.first?["status"] == .string("away"))
    }

    @Test mutating func aStoredMessageIsRenderedByTheHandlerAndAcknowledgedWhenDurable() {
        _ = settle(member(1, "alice"))
        _ = push(1, "new_msg", .object([JSONMember("body", .string("hi"))]))
        let persisted = handle(.commitDue(held: false)).persisted
        #expect(persisted.first?.messages.map(\.body) == ["hi"])
        let done = handle(.committed(batch: 0, durable: true))
        let rendered = JSONValue.object([JSONMember("id", .integer(1)), JSONMember("text", .string("hi"))])
        #expect(done.broadcasts.first?.v2Payload == rendered)
        #expect(done.replies.first?.response == .object([JSONMember("id", .integer(1))]))
    }

    @Test mutating func stopTerminatesTheHandlerAndClosesEveryone() {
        _ = settle(member(1, "alice"))
        _ = settle(member(2, "bob"))
        _ = push(1, "later")
        let actions = push(2, "stop")
        #expect(actions.compactMap { if case .close(let m, _) = $0 { m.connectionID } else { nil } }.count == 2)
        #expect(room.memberCount == 0 && room.handlerTimers.isEmpty)
        #expect(room.handlerState == .string("terminated: closing"))
    }

    @Test mutating func aNewHandlerVersionMigratesRoomStateAndAssignsBeforeItsFirstCall() {
        _ = settle(member(1, "alice"))
        _ = push(1, "ping")
        room.handler = FakeChannel(version: "2")
        _ = handle(.timer)
        #expect(room.handlerStateVersion == "2")
        #expect(room.handlerState == .object([JSONMember("count", .integer(1))]))
        #expect(room.seats[1]?.assigns == .object([JSONMember("migrated_from", .string("1"))]))
    }

    @Test mutating func handlerValuesAndTimersCrossABinaryUpgrade() throws {
        let alice = member(1, "alice")
        _ = settle(alice)
        _ = push(1, "ping")
        _ = push(1, "later")
        clock.advance(30)
        guard case .exported(let exported)? = handle(.export(stagedPresence: nil)).last, let snapshot = exported else {
            Issue.record("no snapshot")
            return
        }
        let values = try #require(snapshot.handler)
        #expect(values.version == "1" && values.timers == [HandlerTimer(due: 70, tag: "tick")])
        var imported = RoomState(
            importing: snapshot, presence: try #require(snapshot.presence), members: [1: alice],
            configuration: room.configuration, handler: FakeChannel())
        #expect(imported.handlerState == room.handlerState && imported.seats[1]?.assigns == room.seats[1]?.assigns)
        var newClock = FakeClock(monotonic: 5_000, wall: clock.wall)
        let resumed = imported.handle(.resumeAfterHandoff, now: newClock.now)
        #expect(resumed.wakeTimes.contains(5_070))
        newClock.advance(70)
        #expect(imported.handle(.timer, now: newClock.now).broadcasts.contains { $0.event == "tick" })
    }

    /// Stores `body` from member 1 and makes it durable; the actions of the commit.
    private mutating func storeDurably(_ id: UInt64, _ event: String, _ payload: JSONValue) -> [RoomAction] {
        _ = push(id, event, payload)
        guard let batch = handle(.commitDue(held: false)).persisted.first?.batch else { return [] }
        return handle(.committed(batch: batch, durable: true))
    }

    @Test mutating func editsAndDeletesAreNewEntriesByTheAuthorOnlyAndForgetTheDeletedMessage() {
        _ = settle(member(1, "alice"))
        _ = settle(member(2, "bob"))
        _ = storeDurably(1, "new_msg", .object([JSONMember("body", .string("hi"))]))
        #expect(room.authors.byID == [1: "alice"])

        let refused = push(2, "edit_msg", .object([JSONMember("id", .integer(1)), JSONMember("body", .string("x"))]))
        #expect(refused.replies.first?.response == .reason("not your message"))

        _ = push(1, "edit_msg", .object([JSONMember("id", .integer(1)), JSONMember("body", .string("hello"))]))
        let persisted = handle(.commitDue(held: false)).persisted
        #expect(persisted.first?.messages == [
            ChatMessage(
                id: 2, user: "alice", body: "hello", timestamp: clock.wall, clientID: nil, kind: .edit, target: 1)
        ])
        let edited = handle(.committed(batch: persisted.first?.batch ?? -1, durable: true))
        #expect(edited.broadcasts.map(\.event) == ["msg_edited"])
        #expect(edited.replies.first?.response == .object([JSONMember("id", .integer(2))]))

        let deleted = storeDurably(1, "delete_msg", .object([JSONMember("id", .integer(1))]))
        #expect(deleted.broadcasts.map(\.event) == ["msg_deleted"])
        #expect(room.authors.byID.isEmpty && room.lastID == 3)
        let again = push(1, "edit_msg", .object([JSONMember("id", .integer(1)), JSONMember("body", .string("z"))]))
        #expect(again.replies.first?.response == .reason("not your message"))
    }

    @Test mutating func aRecoveringJoinReplaysEditsAndDeletesAsTheirOwnEvents() {
        room = RoomState(topic: "room:lab", configuration: room.configuration, channel: FakeChannel(), lastID: 4)
        let history = [
            ChatMessage(id: 1, user: "alice", body: "hi", timestamp: 1, clientID: nil),
            ChatMessage(id: 2, user: "alice", body: "there", timestamp: 2, clientID: nil),
            ChatMessage(id: 3, user: "alice", body: "hey", timestamp: 3, clientID: nil, kind: .edit, target: 1),
            ChatMessage(id: 4, user: "alice", body: "", timestamp: 4, clientID: nil, kind: .delete, target: 2),
        ]
        let bob = member(2, "bob")
        let join = handle(.join(bob, ref: "j", payload: .object([JSONMember("last_seen_id", .integer(0))])))
        guard case .readHistory(let request)? = join.first(where: { if case .readHistory = $0 { true } else { false } })
        else {
            Issue.record("no history read")
            return
        }
        let finished = handle(.historyRead(request, messages: history, complete: true))
        let extra = finished.joinResults.first?.extra ?? []
        #expect(extra.map(\.event) == ["new_msg", "new_msg", "msg_edited", "msg_deleted"])
        #expect(extra.map { $0.payload["text"] } == [.string("hi"), .string("there"), .string("hey"), .string("")])
        #expect(room.authors.byID == [1: "alice"])
    }

    @Test mutating func theAuthorsAndPendingEditsCrossABinaryUpgrade() throws {
        let alice = member(1, "alice")
        _ = settle(alice)
        _ = storeDurably(1, "new_msg", .object([JSONMember("body", .string("hi"))]))
        _ = push(1, "delete_msg", .object([JSONMember("id", .integer(1))]))
        guard case .exported(let exported)? = handle(.export(stagedPresence: nil)).last, let snapshot = exported else {
            Issue.record("no snapshot")
            return
        }
        #expect(snapshot.pending.map(\.message.kind) == [.delete] && snapshot.authors.byID == [1: "alice"])
        var imported = RoomState(
            importing: snapshot, presence: try #require(snapshot.presence), members: [1: alice],
            configuration: room.configuration, handler: FakeChannel())
        #expect(imported.authors == room.authors)
        let persisted = imported.handle(.resumeAfterHandoff, now: clock.now).persisted
        #expect(persisted.first?.messages.map(\.kind) == [.delete])
        let done = imported.handle(.committed(batch: persisted.first?.batch ?? -1, durable: true), now: clock.now)
        #expect(done.broadcasts.map(\.event) == ["msg_deleted"] && imported.authors.byID.isEmpty)
    }
}

@Suite struct MessageAuthorsTests {
    @Test func theOldestAreForgottenBeyondTheLimitAndADeleteForgetsOne() {
        var authors = MessageAuthors()
        for id in 1...Int64(MessageAuthors.limit + 2) { authors.remember(id, by: "u\(id % 3)") }
        #expect(authors.byID.count == MessageAuthors.limit)
        #expect(authors.byID[1] == nil && authors.byID[2] == nil && authors.byID[3] == "u0")
        authors.remember(3, by: "someone else")
        #expect(authors.byID[3] == "someone else" && authors.order.first == 3)
        authors.forget(10)
        #expect(authors.byID[10] == nil && !authors.order.contains(10))
        #expect(MessageAuthors(entries: authors.entries) == authors)
    }
}
