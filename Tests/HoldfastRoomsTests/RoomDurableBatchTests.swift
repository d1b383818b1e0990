import HoldfastJSON
import HoldfastRooms
import Testing

/// `durableBatches` `.all`: a durable batch reported while later batches are being committed waits for them, so all
/// of them reach the members as one run; never longer than the batches out when it became durable.
@Suite struct RoomDurableBatchTests {
    /// A room with alice and bob, and one batch out for persistence per body, numbered from 0.
    private func roomWithBatches(_ bodies: [String], joins: Bool = true) -> RoomHarness {
        var harness = RoomHarness(durableBatches: joins ? .all : .off)
        harness.settle(member(1, "alice"))
        harness.settle(member(2, "bob"))
        for (index, body) in bodies.enumerated() {
            _ = harness.handle(.chat(connectionID: index % 2 == 0 ? 1 : 2, body: body, clientID: nil, ref: "r\(index)"))
            #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [index])
        }
        return harness
    }

    private func ids(_ actions: [RoomAction]) -> [JSONValue?] { actions.broadcasts.map { $0.v2Payload?["id"] } }

    @Test func aDurableBatchWaitsForTheBatchBeingCommittedAfterIt() {
        var harness = roomWithBatches(["one", "two"])
        // Durable, but batch 1 is out: nothing is broadcast or acknowledged yet.
        #expect(harness.handle(.committed(batch: 0, durable: true)).isEmpty)
        let both = harness.handle(.committed(batch: 1, durable: true))
        #expect(ids(both) == [.integer(1), .integer(2)])
        #expect(both.replies.map(\.status) == ["ok", "ok"])
        #expect(both.replies.map(\.member.connectionID) == [1, 2])
        // As one batch of two would go: each message's broadcast, then its sender's reply, with no other action
        // between them (the server sends a run of deliveries together).
        let kinds = both.map { action -> String in
            switch action {
            case .broadcast: "broadcast"
            case .reply: "reply"
            default: "other"
            }
        }
        #expect(kinds == ["broadcast", "reply", "broadcast", "reply"])
    }

    @Test func withoutTheSettingEachBatchGoesOutWhenDurable() {
        var harness = roomWithBatches(["one", "two"], joins: false)
        #expect(ids(harness.handle(.committed(batch: 0, durable: true))) == [.integer(1)])
        #expect(ids(harness.handle(.committed(batch: 1, durable: true))) == [.integer(2)])
    }

    @Test func aBatchWithNothingAfterItGoesOutAtOnce() {
        var harness = roomWithBatches(["one"])
        let done = harness.handle(.committed(batch: 0, durable: true))
        #expect(ids(done) == [.integer(1)])
        #expect(done.replies.map(\.status) == ["ok"])
    }

    @Test func theWaitEndsWithTheBatchesOutWhenItBegan() {
        var harness = roomWithBatches(["one", "two"])
        #expect(harness.handle(.committed(batch: 0, durable: true)).isEmpty)
        // Handed out while batch 0 waits: it does not make batch 0 wait longer.
        _ = harness.handle(.chat(connectionID: 1, body: "three", clientID: nil, ref: "r2"))
        #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [2])
        #expect(ids(harness.handle(.committed(batch: 1, durable: true))) == [.integer(1), .integer(2)])
        #expect(ids(harness.handle(.committed(batch: 2, durable: true))) == [.integer(3)])
    }

    @Test func aFailedLaterBatchReleasesTheHeldOneFirst() {
        var harness = roomWithBatches(["one", "two"])
        #expect(harness.handle(.committed(batch: 0, durable: true)).isEmpty)
        let failed = harness.handle(.committed(batch: 1, durable: false))
        #expect(ids(failed) == [.integer(1)])
        #expect(failed.replies.map(\.status) == ["ok", "error"])
        #expect(failed.replies.map(\.member.connectionID) == [1, 2])
    }

    @Test func aRoomWithAHeldBatchIsNotExportedForAnUpgrade() {
        var harness = roomWithBatches(["one", "two"])
        #expect(harness.handle(.committed(batch: 0, durable: true)).isEmpty)
        let early = harness.handle(.export(stagedPresence: nil))
        #expect(early.contains { if case .exported(nil) = $0 { true } else { false } })
        _ = harness.handle(.committed(batch: 1, durable: true))
        let late = harness.handle(.export(stagedPresence: nil))
        #expect(late.contains { if case .exported(.some) = $0 { true } else { false } })
    }

    @Test func aReplayLeavesOutAHeldBatch() {
        var harness = roomWithBatches(["one", "two"])
        #expect(harness.handle(.committed(batch: 0, durable: true)).isEmpty)
        // Carol rejoins: her history read sees 1 and 2, which the room has not broadcast yet.
        let carol = member(3, "carol")
        let request = HistoryRequest(member: carol, ref: "1", afterID: 0, limit: 50)
        _ = harness.handle(.join(carol, ref: "1", payload: .object([JSONMember("last_seen_id", .integer(0))])))
        let stored = (1...2).map { ChatMessage(id: $0, user: "alice", body: "m\($0)", timestamp: 7, clientID: nil) }
        let answer = harness.handle(.historyRead(request, messages: stored, complete: true))
        #expect(answer.joinResults.first?.extra.isEmpty == true)
        // Both reach her live, once, with everyone else.
        let done = harness.handle(.committed(batch: 1, durable: true))
        #expect(ids(done) == [.integer(1), .integer(2)])
        #expect(done.broadcasts.first?.recipients == 3)
    }
}
