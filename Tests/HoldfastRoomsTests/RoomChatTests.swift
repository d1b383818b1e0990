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
        harness.room.handler = ScriptedHandler(version: "2.0.0")
        // A message accepted under the old code is shaped by the code in place when it goes out.
        let done = harness.handle(.committed(batch: 0, durable: true))
        #expect(done.broadcasts.first?.v2Payload?["handler"] == .string("2.0.0"))
        #expect(harness.room.member(1) != nil && harness.room.memberCount == 2)
    }
}
