import HoldfastChannels
import HoldfastJSON
import HoldfastRooms
import Testing

/// `durableBatches` `.others`: a durable batch reported while a later batch is being committed goes to its senders
/// at once (every message of it, in order, then each sender's reply), and to the other members with the later batch,
/// as one run. Every member's deliveries are followed here as a client would see them.
@Suite struct RoomHeldForOthersTests {
    /// What each member received, in order: `m<id>` for a chat message, `ok<id>` / `error` for a reply to its push,
    /// the event's name for any other broadcast or push.
    struct Inboxes {
        var byMember: [UInt64: [String]] = [:]

        /// Delivers `actions` to `seated` as the server would (a broadcast to every seated member but `except`, or
        /// to `only` less `except`).
        mutating func receive(_ actions: [RoomAction], seated: [UInt64]) {
            for action in actions {
                switch action {
                case .broadcast(let broadcast):
                    let targets = (broadcast.only.map { Array($0) } ?? seated).filter {
                        seated.contains($0) && !broadcast.except.contains($0)
                    }
                    let payload = broadcast.v2Payload
                    let entry = broadcast.event == "new_msg" ? "m\(payload?["id"]?.integerValue ?? -1)" : broadcast.event
                    for id in targets { byMember[id, default: []].append(entry) }
                case .push(let member, let message):
                    byMember[member.connectionID, default: []].append(message.event)
                case .reply(let member, _, let status, let response):
                    let entry = status == "ok" ? "ok\(response["id"]?.integerValue ?? -1)" : status
                    byMember[member.connectionID, default: []].append(entry)
                case .sendPresenceState(let members, _):
                    for member in members { byMember[member.connectionID, default: []].append("presence_state") }
                default:
                    break
                }
            }
        }

        /// The chat messages and replies only (presence left out).
        func chat(_ id: UInt64) -> [String] {
            (byMember[id] ?? []).filter { $0.hasPrefix("m") || $0.hasPrefix("ok") || $0 == "error" }
        }
    }

    /// alice (1), bob (2), carol (3, never sends); one batch out per list of senders, numbered from 0.
    private func room(batches: [[UInt64]], mode: DurableBatchJoining = .others) -> RoomHarness {
        var harness = RoomHarness(durableBatches: mode)
        for (id, name) in [(UInt64(1), "alice"), (2, "bob"), (3, "carol")] { harness.settle(member(id, name)) }
        var ref = 0
        for (index, senders) in batches.enumerated() {
            for sender in senders {
                _ = harness.handle(.chat(connectionID: sender, body: "b\(ref)", clientID: nil, ref: "r\(ref)"))
                ref += 1
            }
            #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [index])
        }
        return harness
    }

    @Test func theSenderGetsItsBatchAndReplyAtOnceTheOthersWithTheNextBatch() {
        var harness = room(batches: [[1], [2]])
        var inboxes = Inboxes()
        let first = harness.handle(.committed(batch: 0, durable: true))
        inboxes.receive(first, seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1"])
        #expect(inboxes.chat(2).isEmpty && inboxes.chat(3).isEmpty)
        let second = harness.handle(.committed(batch: 1, durable: true))
        inboxes.receive(second, seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2"])
        #expect(inboxes.chat(3) == ["m1", "m2"])
        // One run for the others: the two broadcasts follow each other with only deliveries between them, and the
        // held one leaves out only its sender, who has it.
        #expect(second.allSatisfy { $0.isDelivery })
        // B goes to the others in the same run (bob, its sender, left out), then to bob alone, before his reply.
        #expect(second.broadcasts.filter { $0.only == nil }.map(\.except) == [[1], [2]])
        #expect(second.broadcasts.compactMap(\.only) == [[2]])
    }

    @Test func everySenderOfTheBatchGetsAllOfItInOrderBeforeItsReply() {
        var harness = room(batches: [[1, 2, 1], [3]])
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2", "m3", "ok3"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2", "m3"])
        #expect(inboxes.chat(3).isEmpty)
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2", "m3", "ok3", "m4"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2", "m3", "m4"])
        #expect(inboxes.chat(3) == ["m1", "m2", "m3", "m4", "ok4"])
    }

    @Test func aBatchWithNothingAfterItGoesToEveryoneAtOnce() {
        var harness = room(batches: [[1]])
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1"])
        #expect(inboxes.chat(2) == ["m1"] && inboxes.chat(3) == ["m1"])
    }

    @Test func threeBatchesOutKeepOneHeldAtATimeAndNobodyGetsOneTwice() {
        var harness = room(batches: [[1], [2], [1]])
        var inboxes = Inboxes()
        for batch in 0..<3 { inboxes.receive(harness.handle(.committed(batch: batch, durable: true)), seated: [1, 2, 3]) }
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2", "m3", "ok3"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2", "m3"])
        #expect(inboxes.chat(3) == ["m1", "m2", "m3"])
    }

    @Test func aFailedLaterBatchReleasesTheHeldOneToTheOthersThenItsSendersHearTheError() {
        var harness = room(batches: [[1], [2]])
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        inboxes.receive(harness.handle(.committed(batch: 1, durable: false)), seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1"])
        #expect(inboxes.chat(2) == ["m1", "error"])
        #expect(inboxes.chat(3) == ["m1"])
    }

    @Test func aPresenceChangeWhileABatchIsHeldGoesOutAfterIt() {
        var harness = room(batches: [[1], [2]])
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        // dave joins; the presence window ends while batch 0 is still held for the others.
        let joined = harness.handle(.join(member(4, "dave"), ref: "j4", payload: .object([])))
        inboxes.receive(joined, seated: [1, 2, 3, 4])
        harness.clock.advance(100)
        let flushed = harness.handle(.timer)
        inboxes.receive(flushed, seated: [1, 2, 3, 4])
        #expect(inboxes.byMember[3] == ["m1", "presence_diff"])
        #expect(inboxes.byMember[2] == ["m1", "presence_diff"])
        #expect(inboxes.byMember[1] == ["m1", "ok1", "presence_diff"])
        // dave joined before the release: he gets the held batch live, then his state.
        #expect(inboxes.byMember[4] == ["m1", "presence_state"])
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3, 4])
        #expect(inboxes.chat(3) == ["m1", "m2"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2"])
        #expect(inboxes.chat(4) == ["m1", "m2"])
    }

    @Test func aBroadcastOfTheServerWhileABatchIsHeldGoesOutAfterIt() {
        var harness = room(batches: [[1], [2]])
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        let notice = harness.handle(.publishEvent(event: "notice", payload: .object([])))
        inboxes.receive(notice, seated: [1, 2, 3])
        #expect(inboxes.byMember[3] == ["m1", "notice"])
        #expect(inboxes.byMember[1] == ["m1", "ok1", "notice"])
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.byMember[3] == ["m1", "notice", "m2"])
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2"])
    }

    @Test func aSenderThatLeftIsNotServedAndTheOthersStillGetItsMessage() {
        var harness = room(batches: [[1], [2]])
        _ = harness.handle(.leave(connectionID: 1))
        var inboxes = Inboxes()
        let first = harness.handle(.committed(batch: 0, durable: true))
        #expect(first.broadcasts.filter { $0.event == "new_msg" }.isEmpty)
        #expect(first.replies.isEmpty)
        inboxes.receive(first, seated: [2, 3])
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [2, 3])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2"])
        #expect(inboxes.chat(3) == ["m1", "m2"])
    }

    @Test func aRoomWithAHeldBatchWaitsForTheUpgradeAndExportsNothingOfIt() {
        var harness = room(batches: [[1], [2]])
        _ = harness.handle(.committed(batch: 0, durable: true))
        let early = harness.handle(.export(stagedPresence: nil))
        #expect(early.contains { if case .exported(nil) = $0 { true } else { false } })
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(3) == ["m1", "m2"])
        let late = harness.handle(.export(stagedPresence: nil))
        let snapshot = late.compactMap { if case .exported(let snapshot) = $0 { snapshot } else { nil } }.first
        #expect(snapshot?.pending.isEmpty == true)
        #expect(snapshot?.lastID == 2)
    }

    @Test func aReplayStopsBelowTheHeldBatchWhichReachesTheJoinerLiveOnce() {
        var harness = room(batches: [[1], [2]])
        _ = harness.handle(.committed(batch: 0, durable: true))
        let dave = member(4, "dave")
        let request = HistoryRequest(member: dave, ref: "1", afterID: 0, limit: 50)
        _ = harness.handle(.join(dave, ref: "1", payload: .object([JSONMember("last_seen_id", .integer(0))])))
        let stored = (1...2).map { ChatMessage(id: $0, user: "alice", body: "m\($0)", timestamp: 7, clientID: nil) }
        let answer = harness.handle(.historyRead(request, messages: stored, complete: true))
        #expect(answer.joinResults.first?.extra.isEmpty == true)
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3, 4])
        #expect(inboxes.chat(4) == ["m1", "m2"])
    }

    @Test func aRestartedRoomReleasesTheHeldBatchBeforeThePresenceResync() {
        var harness = room(batches: [[1], [2]])
        _ = harness.handle(.committed(batch: 0, durable: true))
        harness.room = RoomState(recovering: harness.room, lastStoredID: 2)
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.restarted), seated: [1, 2, 3])
        #expect(inboxes.byMember[3] == ["m1", "presence_state"])
        #expect(inboxes.byMember[1] == ["presence_state"])
    }

    @Test func aStoreSequencedRoomIgnoresTheSetting() {
        func run(_ mode: DurableBatchJoining) -> [[RoomAction]] {
            var harness = RoomHarness()
            harness.room = RoomState(
                topic: "room:lobby",
                configuration: RoomConfiguration(
                    presenceRefPrefix: "P", presenceWindowMilliseconds: 20, historyLimit: 50, sequencedByStore: true,
                    durableBatches: mode),
                handler: ScriptedHandler(), lastID: 0)
            harness.settle(member(1, "alice"))
            harness.settle(member(2, "bob"))
            var steps: [[RoomAction]] = []
            _ = harness.handle(.chat(connectionID: 1, body: "one", clientID: nil, ref: "5"))
            steps.append(harness.handle(.commitDue(held: false)))
            _ = harness.handle(.chat(connectionID: 2, body: "two", clientID: nil, ref: "6"))
            steps.append(harness.handle(.commitDue(held: false)))
            steps.append(harness.handle(.sequenced(batch: 0, ids: [1])))
            steps.append(harness.handle(.delivered([ChatMessage(id: 1, user: "alice", body: "one", timestamp: 5, clientID: nil)], upTo: 1)))
            steps.append(harness.handle(.sequenced(batch: 1, ids: [2])))
            // A commit due after a delivery is handed out at once (`.paced` does not wait either).
            _ = harness.handle(.chat(connectionID: 1, body: "three", clientID: nil, ref: "7"))
            steps.append(harness.handle(.commitDue(held: false)))
            return steps
        }
        #expect(run(.others) == run(.off))
        #expect(run(.paced) == run(.off))
        #expect(run(.paced)[5].persisted.map(\.batch) == [2])
        #expect(run(.others)[2].replies.map(\.status) == ["ok"])
    }

    /// Batch 0 from alice is out; bob's message is accepted and its commit queued, not yet handed out.
    private func roomWithACommitQueued() -> RoomHarness {
        var harness = room(batches: [[1]])
        _ = harness.handle(.chat(connectionID: 2, body: "later", clientID: nil, ref: "r9"))
        return harness
    }

    @Test func aBatchAlsoWaitsForTheMessagesWhoseCommitIsQueued() {
        var harness = roomWithACommitQueued()
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1"])
        #expect(inboxes.chat(3).isEmpty)
        #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [1])
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(3) == ["m1", "m2"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2"])
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2"])
    }

    @Test func commitsHeldForAnUpgradeReleaseTheBatchWaitingForThem() {
        var harness = roomWithACommitQueued()
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        let held = harness.handle(.commitDue(held: true))
        #expect(held.persisted.isEmpty)
        inboxes.receive(held, seated: [1, 2, 3])
        #expect(inboxes.chat(3) == ["m1"] && inboxes.chat(2) == ["m1"])
        // The export carries the message still pending; nothing of the released batch is left to carry.
        let exported = harness.handle(.export(stagedPresence: nil))
        let snapshot = exported.compactMap { if case .exported(let snapshot) = $0 { snapshot } else { nil } }.first
        #expect(snapshot?.pending.map(\.message.id) == [2])
    }

    @Test func anExportWithNothingInFlightReleasesTheHeldBatchFirst() {
        var harness = roomWithACommitQueued()
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        let exported = harness.handle(.export(stagedPresence: nil))
        inboxes.receive(exported, seated: [1, 2, 3])
        #expect(inboxes.chat(3) == ["m1"] && inboxes.chat(2) == ["m1"] && inboxes.chat(1) == ["m1", "ok1"])
        let snapshot = exported.compactMap { if case .exported(let snapshot) = $0 { snapshot } else { nil } }.first
        #expect(snapshot?.pending.map(\.message.id) == [2])
    }

    @Test func inTheAllModeTheSendersWaitToo() {
        var harness = room(batches: [[1], [2]], mode: .all)
        #expect(harness.handle(.committed(batch: 0, durable: true)).isEmpty)
        var inboxes = Inboxes()
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2"])
    }
}
