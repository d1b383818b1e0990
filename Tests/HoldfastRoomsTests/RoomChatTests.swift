import HoldfastChannels
import HoldfastJSON
import HoldfastRooms
import Testing

@Suite struct RoomChatTests {
    @Test func messagesAreNumberedBatchedAndBroadcastOnlyOnceDurable() {
        var harness = RoomHarness(lastID: 10)
        harness.settle(member(1, "alice"))
        harness.settle(member(2, "bob"))
        let first = harness.handle(.chat(connectionID: 1, body: "hi", clientID: .string("c1"), ref: "5"))
        #expect(first == [.scheduleCommit])
        let second = harness.handle(.chat(connectionID: 2, body: "yo", clientID: nil, ref: "6"))
        #expect(second.isEmpty)  // the commit already scheduled takes it too

        let commit = harness.handle(.commitDue(held: false))
        #expect(commit.persisted.count == 1)
        #expect(commit.persisted.first?.messages.map(\.id) == [11, 12])
        #expect(commit.persisted.first?.messages.first?.clientID == "c1")
        #expect(commit.persisted.first?.messages.first?.timestamp == harness.clock.wall)

        let done = harness.handle(.committed(batch: 0, durable: true))
        #expect(done.broadcasts.map(\.event) == ["new_msg", "new_msg"])
        #expect(done.broadcasts.first?.recipients == 2)
        #expect(done.broadcasts.first?.v2Payload?["id"] == .integer(11))
        #expect(done.broadcasts.first?.v2Payload?["replay"] == .bool(false))
        #expect(done.replies.map(\.status) == ["ok", "ok"])
        #expect(done.replies.map(\.member.connectionID) == [1, 2])
        #expect(done.replies.first?.response == .object([JSONMember("id", .integer(11))]))
        // A batch is reported once.
        #expect(harness.handle(.committed(batch: 0, durable: true)).isEmpty)
    }

    @Test func aRejectedMessageGetsTheReasonAndUsesNoId() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        let actions = harness.handle(.chat(connectionID: 1, body: "buy spam", clientID: nil, ref: "5"))
        #expect(actions.replies.first?.status == "error")
        #expect(actions.replies.first?.response == .object([JSONMember("reason", .string("message rejected"))]))
        #expect(harness.room.lastID == 0)
    }

    @Test func messagesFromNonMembersAreIgnored() {
        var harness = RoomHarness()
        #expect(harness.handle(.chat(connectionID: 7, body: "hi", clientID: nil, ref: "1")).isEmpty)
        #expect(harness.handle(.typing(connectionID: 7)).isEmpty)
    }

    @Test func heldCommitsKeepMessagesPendingUntilReleased() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        _ = harness.handle(.chat(connectionID: 1, body: "hi", clientID: nil, ref: "5"))
        #expect(harness.handle(.commitDue(held: true)).isEmpty)
        // A new message schedules a commit again, since the held one is spent.
        #expect(harness.handle(.chat(connectionID: 1, body: "again", clientID: nil, ref: "6")) == [.scheduleCommit])
        #expect(harness.handle(.commitDue(held: false)).persisted.first?.messages.map(\.id) == [1, 2])
    }

    @Test func aFailedCommitTellsEverySenderAndBroadcastsNothing() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        _ = harness.handle(.chat(connectionID: 1, body: "hi", clientID: nil, ref: "5"))
        _ = harness.handle(.commitDue(held: false))
        let failed = harness.handle(.committed(batch: 0, durable: false))
        #expect(failed.broadcasts.isEmpty)
        #expect(failed.replies.map(\.status) == ["error"])
        #expect(failed.contains { if case .log(.error, _) = $0 { true } else { false } })
    }

    @Test func typingGoesToEveryoneButTheTypist() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        #expect(harness.handle(.typing(connectionID: 1)).isEmpty)  // nobody else to tell
        harness.settle(member(2, "bob"))
        let actions = harness.handle(.typing(connectionID: 1))
        #expect(actions.broadcasts.first?.event == "typing")
        #expect(actions.broadcasts.first?.except == [1])
        #expect(actions.broadcasts.first?.v2Payload == .object([JSONMember("user", .string("alice"))]))
    }

    @Test func aBroadcastIsEncodedOnlyForTheSerializersInUse() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice", version: .v1))
        harness.settle(member(2, "bob", version: .v1))
        let onlyV1 = harness.handle(.typing(connectionID: 1)).broadcasts.first
        #expect(onlyV1?.v1 != nil && onlyV1?.v2 == nil)
        harness.settle(member(3, "carol", version: .v2))
        let both = harness.handle(.typing(connectionID: 1)).broadcasts.first
        #expect(both?.v1 != nil && both?.v2 != nil)
    }

    @Test func aSwappedHandlerShapesTheNextMessages() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        harness.settle(member(2, "bob"))
        _ = harness.handle(.chat(connectionID: 1, body: "before", clientID: nil, ref: "5"))
        _ = harness.handle(.commitDue(held: false))
        harness.room.handler = ChatHandlerChannel(ScriptedHandler(version: "2.0.0"))
        // A message accepted under the old code is shaped by the code in place when it goes out.
        let done = harness.handle(.committed(batch: 0, durable: true))
        #expect(done.broadcasts.first?.v2Payload?["handler"] == .string("2.0.0"))
        #expect(harness.room.member(1) != nil && harness.room.memberCount == 2)
    }
}

@Suite struct RoomReplyOrderTests {
    @Test func anErrorWaitsForTheOkOfAnEarlierMessage() {
        var harness = RoomHarness()
        let alice = member(1, "alice")
        harness.settle(alice)
        _ = harness.handle(.chat(connectionID: 1, body: "first", clientID: nil, ref: "5"))
        // Rejected by the handler, and refused by the session: both are owed after the first message's ok.
        #expect(harness.handle(.chat(connectionID: 1, body: "spam", clientID: nil, ref: "6")).replies.isEmpty)
        let refusal = JSONValue.object([JSONMember("reason", .string("body must be a string"))])
        #expect(harness.handle(.refuse(connectionID: 1, ref: "7", response: refusal)).replies.isEmpty)
        _ = harness.handle(.commitDue(held: false))
        let done = harness.handle(.committed(batch: 0, durable: true))
        let refs = done.compactMap { action -> String? in
            if case .reply(_, let ref, _, _) = action { ref } else { nil }
        }
        #expect(refs == ["5", "6", "7"])
        #expect(done.replies.map(\.status) == ["ok", "error", "error"])
        // Nothing owed any more: the next refusal goes out at once.
        #expect(harness.handle(.refuse(connectionID: 1, ref: "8", response: refusal)).replies.count == 1)
    }

    @Test func repliesOfOtherMembersDoNotWait() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        harness.settle(member(2, "bob"))
        _ = harness.handle(.chat(connectionID: 1, body: "first", clientID: nil, ref: "5"))
        #expect(harness.handle(.chat(connectionID: 2, body: "spam", clientID: nil, ref: "6")).replies.count == 1)
    }

    @Test func aFailedCommitReleasesTheRepliesBehindIt() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        _ = harness.handle(.chat(connectionID: 1, body: "first", clientID: nil, ref: "5"))
        _ = harness.handle(.chat(connectionID: 1, body: "spam", clientID: nil, ref: "6"))
        _ = harness.handle(.commitDue(held: false))
        #expect(harness.handle(.committed(batch: 0, durable: false)).replies.map(\.status) == ["error", "error"])
    }

    @Test func anExportSendsTheReadyRepliesAndTheImportOwesThePendingOnes() throws {
        var harness = RoomHarness()
        let alice = member(1, "alice")
        harness.settle(alice)
        _ = harness.handle(.chat(connectionID: 1, body: "pending", clientID: nil, ref: "5"))
        _ = harness.handle(.commitDue(held: true))
        _ = harness.handle(.chat(connectionID: 1, body: "spam", clientID: nil, ref: "6"))
        let export = harness.handle(.export(stagedPresence: nil))
        // The refusal cannot travel with the room: it goes out before the handover rather than never.
        #expect(export.replies.map(\.status) == ["error"])
        guard case .exported(let exported)? = export.last, let snapshot = exported, let presence = snapshot.presence
        else {
            Issue.record("no snapshot")
            return
        }
        var imported = RoomState(
            importing: snapshot, presence: presence, members: [1: alice],
            configuration: harness.room.configuration, handler: ScriptedHandler())
        let refusal = JSONValue.object([JSONMember("reason", .string("no"))])
        // The pending message is still owed its ok first.
        #expect(imported.handle(.refuse(connectionID: 1, ref: "7", response: refusal), now: harness.clock.now).isEmpty)
        _ = imported.handle(.resumeAfterHandoff, now: harness.clock.now)
        let done = imported.handle(.committed(batch: 0, durable: true), now: harness.clock.now)
        #expect(done.replies.map(\.status) == ["ok", "error"])
    }
}
