import HoldfastChannels
import HoldfastJSON
import HoldfastRooms
import Testing

@Suite struct RoomJoinTests {
    @Test func anAllowedJoinIsAdmittedAnsweredAndGetsTheStateAtTheFlush() {
        var harness = RoomHarness()
        let alice = member(1, "alice")
        let actions = harness.handle(.join(alice, ref: "1", payload: .object([JSONMember("device", .string("phone"))])))
        #expect(actions.first == .admit(alice))
        #expect(actions.wakeTimes == [harness.clock.monotonic])
        let reply = actions.joinResults.first
        #expect(
            reply?.result == .ok(.object([JSONMember("last_id", .integer(0)), JSONMember("recovered", .bool(true))])))
        #expect(actions.presenceStates.isEmpty)

        let flush = harness.handle(.timer)
        #expect(flush.broadcasts.isEmpty)  // the joiner gets the state, nobody else is there for the diff
        let state = flush.presenceStates.first
        #expect(state?.members == [alice])
        #expect(state?.payload["alice"]?["metas"] != nil)
    }

    @Test func aDeniedJoinGetsTheReasonAndIsNotAdmitted() {
        var harness = RoomHarness()
        let mallory = member(9, "mallory")
        let actions = harness.handle(.join(mallory, ref: "1", payload: .object([])))
        #expect(actions.count == 1)
        #expect(actions.joinResults.first?.result == .error(.object([JSONMember("reason", .string("unauthorized"))])))
        #expect(harness.room.memberCount == 0)
    }

    @Test func joinsWithinOneWindowCostOneDiffAndOneStateEncode() {
        var harness = RoomHarness(window: 20)
        let alice = member(1, "alice")
        harness.settle(alice)
        // The first change after a quiet window goes out at once; later ones wait for the window's end.
        let bob = harness.handle(.join(member(2, "bob"), ref: "1", payload: .object([])))
        #expect(bob.wakeTimes == [harness.clock.monotonic])
        _ = harness.handle(.timer)
        harness.clock.advance(5)
        let carol = harness.handle(.join(member(3, "carol"), ref: "1", payload: .object([])))
        #expect(carol.wakeTimes == [harness.clock.monotonic + 15])
        harness.clock.advance(5)
        let dave = harness.handle(.join(member(4, "dave"), ref: "1", payload: .object([])))
        #expect(dave.wakeTimes.isEmpty)

        harness.clock.advance(10)
        let flush = harness.handle(.timer)
        let diffs = flush.broadcasts.filter { $0.event == "presence_diff" }
        #expect(diffs.count == 1)
        #expect(diffs.first?.except == [3, 4])
        #expect(diffs.first?.recipients == 2)
        let joins = diffs.first?.v2Payload?["joins"]
        #expect(joins?["carol"] != nil && joins?["dave"] != nil)
        #expect(flush.presenceStates.count == 1)
        #expect(Set(flush.presenceStates.first?.members.map(\.connectionID) ?? []) == [3, 4])
    }

    @Test func aLeaveIsDismissedAndDiffedToTheOthers() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        harness.settle(member(2, "bob"))
        harness.clock.advance(100)
        let actions = harness.handle(.leave(connectionID: 2))
        #expect(actions.first == .dismiss(connectionID: 2))
        let flush = harness.handle(.timer)
        #expect(flush.broadcasts.first?.v2Payload?["leaves"]?["bob"] != nil)
        #expect(flush.broadcasts.first?.recipients == 1)
        #expect(harness.handle(.leave(connectionID: 2)).isEmpty)
    }

    @Test func aRejoinOfTheSameConnectionReplacesItsJoin() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        let again = Member(connectionID: 1, user: "alice", joinRef: "jr-new", version: .v2)
        let actions = harness.handle(.join(again, ref: "2", payload: .object([])))
        #expect(actions.prefix(1) == [.dismiss(connectionID: 1)])
        #expect(actions.contains(.admit(again)))
        #expect(harness.room.memberCount == 1)
        #expect(harness.room.member(1)?.joinRef == "jr-new")
    }

    @Test func aRecoveringJoinReadsTheHistoryAndReplaysWhatItMissed() {
        var harness = RoomHarness(lastID: 5)
        let alice = member(1, "alice")
        let actions = harness.handle(
            .join(alice, ref: "1", payload: .object([JSONMember("last_seen_id", .integer(2))])))
        let request = HistoryRequest(member: alice, ref: "1", afterID: 2, limit: 50)
        #expect(actions.last == .readHistory(request))
        #expect(actions.joinResults.isEmpty)

        let missed = (3...5).map { ChatMessage(id: $0, user: "bob", body: "m\($0)", timestamp: 7, clientID: nil) }
        let answer = harness.handle(.historyRead(request, messages: missed, complete: false))
        let reply = answer.joinResults.first
        #expect(
            reply?.result == .ok(.object([JSONMember("last_id", .integer(5)), JSONMember("recovered", .bool(false))])))
        #expect(reply?.extra.map(\.event) == ["new_msg", "new_msg", "new_msg"])
        #expect(reply?.extra.first?.payload["replay"] == .bool(true))
        #expect(reply?.extra.first?.joinRef == alice.joinRef)
    }

    @Test func aClientThatMissedNothingIsNotSentToTheHistory() {
        var harness = RoomHarness(lastID: 5)
        let actions = harness.handle(
            .join(member(1, "alice"), ref: "1", payload: .object([JSONMember("last_seen_id", .integer(5))])))
        #expect(!actions.contains { if case .readHistory = $0 { true } else { false } })
        #expect(actions.joinResults.count == 1)
    }

    @Test func aReplayLeavesOutWhatIsStillToBeBroadcastLive() {
        var harness = RoomHarness(lastID: 10)
        harness.settle(member(1, "alice"))
        _ = harness.handle(.chat(connectionID: 1, body: "a", clientID: nil, ref: "5"))
        _ = harness.handle(.chat(connectionID: 1, body: "b", clientID: nil, ref: "6"))
        #expect(harness.handle(.commitDue(held: false)).persisted.first?.messages.map(\.id) == [11, 12])
        // Bob rejoins; the writer has committed batch 0 already, so his history read sees 11 and 12, but the
        // room has not handled `committed` for it yet.
        let bob = member(2, "bob")
        let request = HistoryRequest(member: bob, ref: "1", afterID: 8, limit: 50)
        _ = harness.handle(.join(bob, ref: "1", payload: .object([JSONMember("last_seen_id", .integer(8))])))
        let stored = (9...12).map { ChatMessage(id: $0, user: "alice", body: "m\($0)", timestamp: 7, clientID: nil) }
        let answer = harness.handle(.historyRead(request, messages: stored, complete: true))
        #expect(answer.joinResults.first?.extra.map { $0.payload["id"] } == [.integer(9), .integer(10)])
        // 11 and 12 reach him live, once, with everyone else.
        let done = harness.handle(.committed(batch: 0, durable: true))
        #expect(done.broadcasts.map { $0.v2Payload?["id"] } == [.integer(11), .integer(12)])
        #expect(done.broadcasts.first?.recipients == 2)
    }
}
