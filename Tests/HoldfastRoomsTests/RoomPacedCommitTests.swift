import HoldfastChannels
import HoldfastJSON
import HoldfastRooms
import Testing

/// `durableBatches` `.paced`: `.others`, and a room's next commit waits until the fan-out of its last durable batch
/// is written (``RoomAction/scheduleCommitAfterFanOut``), so the messages its senders send meanwhile join that
/// commit. Also the counts of what happened to the durable batches (``RoomState/batchCounts``), in every mode.
@Suite struct RoomPacedCommitTests {
    /// alice (1), bob (2), carol (3, never sends).
    private func room(_ mode: DurableBatchJoining = .paced, countsEvery: Int = 0) -> RoomHarness {
        var harness = RoomHarness(durableBatches: mode)
        harness.room = RoomState(
            topic: "room:lobby",
            configuration: RoomConfiguration(
                presenceRefPrefix: "P", presenceWindowMilliseconds: 20, historyLimit: 50, durableBatches: mode,
                batchCountsEvery: countsEvery),
            handler: ScriptedHandler(), lastID: 0)
        for (id, name) in [(UInt64(1), "alice"), (2, "bob"), (3, "carol")] { harness.settle(member(id, name)) }
        return harness
    }

    @Test func aCommitAfterAFanOutWaitsForItsWritesAndTakesWhatArrivedMeanwhile() {
        var harness = room()
        var inboxes = RoomHeldForOthersTests.Inboxes()
        _ = harness.handle(.chat(connectionID: 1, body: "a", clientID: nil, ref: "1"))
        // No fan-out yet: the first commit goes out at once.
        #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [0])
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1"] && inboxes.chat(3) == ["m1"])
        // bob's message came in while batch 0's fan-out was written: its commit waits for the writes...
        #expect(harness.handle(.chat(connectionID: 2, body: "b", clientID: nil, ref: "2")) == [.scheduleCommit])
        #expect(harness.handle(.commitDue(held: false)) == [.scheduleCommitAfterFanOut])
        // ...and alice's next message, read after them, joins it: one batch, one commit.
        #expect(harness.handle(.chat(connectionID: 1, body: "c", clientID: nil, ref: "3")).isEmpty)
        let persisted = harness.handle(.commitDue(held: false)).persisted
        #expect(persisted.map(\.batch) == [1])
        #expect(persisted.first?.messages.map(\.id) == [2, 3])
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2", "m3", "ok3"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2", "m3"])
        #expect(inboxes.chat(3) == ["m1", "m2", "m3"])
        #expect(harness.room.batchCounts.commitsPaced == 1)
    }

    @Test func aCommitWaitsOnlyOnceAfterAFanOut() {
        var harness = room()
        _ = harness.handle(.chat(connectionID: 1, body: "a", clientID: nil, ref: "1"))
        _ = harness.handle(.commitDue(held: false))
        _ = harness.handle(.committed(batch: 0, durable: true))
        _ = harness.handle(.chat(connectionID: 2, body: "b", clientID: nil, ref: "2"))
        #expect(harness.handle(.commitDue(held: false)) == [.scheduleCommitAfterFanOut])
        #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [1])
        // Another message before batch 1 is durable: no fan-out since the last commit, so it goes at once.
        #expect(harness.handle(.chat(connectionID: 2, body: "c", clientID: nil, ref: "3")) == [.scheduleCommit])
        #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [2])
        #expect(harness.room.batchCounts.commitsAhead == 1)
    }

    /// Batch 0 (alice's "a") durable; then bob's "b" and alice's "c" in one paced commit, batch 1: a window of two.
    private func roomWithAWindowOfTwo(_ inboxes: inout RoomHeldForOthersTests.Inboxes) -> RoomHarness {
        var harness = room()
        _ = harness.handle(.chat(connectionID: 1, body: "a", clientID: nil, ref: "1"))
        _ = harness.handle(.commitDue(held: false))
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])
        _ = harness.handle(.chat(connectionID: 2, body: "b", clientID: nil, ref: "2"))
        #expect(harness.handle(.commitDue(held: false)) == [.scheduleCommitAfterFanOut])
        _ = harness.handle(.chat(connectionID: 1, body: "c", clientID: nil, ref: "3"))
        #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [1])
        #expect(harness.room.pacedWindow == 2)
        return harness
    }

    @Test func aWaitEndsAsSoonAsTheWaitingMessagesRefillTheWindow() {
        var inboxes = RoomHeldForOthersTests.Inboxes()
        var harness = roomWithAWindowOfTwo(&inboxes)
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        _ = harness.handle(.chat(connectionID: 2, body: "d", clientID: nil, ref: "4"))
        #expect(harness.handle(.commitDue(held: false)) == [.scheduleCommitAfterFanOut])
        // The second message refills the window of two: the commit goes out now, before the turn ends.
        let early = harness.handle(.chat(connectionID: 1, body: "e", clientID: nil, ref: "5")).persisted
        #expect(early.map(\.batch) == [2] && early.first?.messages.map(\.id) == [4, 5])
        // A message read later in that turn waits for the turn's end, where the wait's own commit takes it.
        #expect(harness.handle(.chat(connectionID: 1, body: "f", clientID: nil, ref: "6")).isEmpty)
        let late = harness.handle(.commitDue(held: false)).persisted
        #expect(late.map(\.batch) == [3] && late.first?.messages.map(\.id) == [6])
        // Both came while one fan-out was written: the window is now three.
        #expect(harness.room.pacedWindow == 3)
        for batch in [2, 3] {
            inboxes.receive(harness.handle(.committed(batch: batch, durable: true)), seated: [1, 2, 3])
        }
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2", "m3", "ok3", "m4", "m5", "ok5", "m6", "ok6"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2", "m3", "m4", "ok4", "m5", "m6"])
        #expect(inboxes.chat(3) == ["m1", "m2", "m3", "m4", "m5", "m6"])
        #expect(harness.room.batchCounts.commitsPaced == 2 && harness.room.batchCounts.pacedEarly == 1)
    }

    @Test func noWaitWhenAWindowsWorthIsAlreadyWaiting() {
        var inboxes = RoomHeldForOthersTests.Inboxes()
        var harness = roomWithAWindowOfTwo(&inboxes)
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        // Two messages read before the commit falls due: the room is behind, so no wait.
        _ = harness.handle(.chat(connectionID: 2, body: "d", clientID: nil, ref: "4"))
        _ = harness.handle(.chat(connectionID: 1, body: "e", clientID: nil, ref: "5"))
        let persisted = harness.handle(.commitDue(held: false)).persisted
        #expect(persisted.map(\.batch) == [2] && persisted.first?.messages.map(\.id) == [4, 5])
        inboxes.receive(harness.handle(.committed(batch: 2, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(3) == ["m1", "m2", "m3", "m4", "m5"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2", "m3", "m4", "ok4", "m5"])
        #expect(harness.room.batchCounts.pacingSkipped == 1 && harness.room.batchCounts.commitsPaced == 1)
    }

    @Test func noWaitWhileABatchIsHeldForTheNextCommit() {
        var harness = room()
        var inboxes = RoomHeldForOthersTests.Inboxes()
        _ = harness.handle(.chat(connectionID: 1, body: "a", clientID: nil, ref: "1"))
        _ = harness.handle(.commitDue(held: false))
        _ = harness.handle(.chat(connectionID: 2, body: "b", clientID: nil, ref: "2"))
        _ = harness.handle(.commitDue(held: false))  // batch 1, ahead of batch 0
        inboxes.receive(harness.handle(.committed(batch: 0, durable: true)), seated: [1, 2, 3])  // held for 1
        _ = harness.handle(.chat(connectionID: 1, body: "c", clientID: nil, ref: "3"))
        _ = harness.handle(.commitDue(held: false))  // batch 2, ahead again
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])  // 0 and 1 go out
        _ = harness.handle(.chat(connectionID: 2, body: "d", clientID: nil, ref: "4"))
        // Batch 2 is durable while "d" waits for its commit: held for it...
        inboxes.receive(harness.handle(.committed(batch: 2, durable: true)), seated: [1, 2, 3])
        #expect(harness.room.batchCounts.heldForPending == 1)
        // ...so that commit, though a fan-out went out before it, does not wait: the room is a commit behind.
        #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [3])
        inboxes.receive(harness.handle(.committed(batch: 3, durable: true)), seated: [1, 2, 3])
        #expect(inboxes.chat(3) == ["m1", "m2", "m3", "m4"])
        #expect(inboxes.chat(1) == ["m1", "ok1", "m2", "m3", "ok3", "m4"])
        #expect(inboxes.chat(2) == ["m1", "m2", "ok2", "m3", "m4", "ok4"])
        #expect(harness.room.batchCounts.pacingSkipped == 1 && harness.room.batchCounts.commitsPaced == 0)
    }

    @Test func aWindowThatShrinksIsLearnedAtTheNextFullWait() {
        var inboxes = RoomHeldForOthersTests.Inboxes()
        var harness = roomWithAWindowOfTwo(&inboxes)
        inboxes.receive(harness.handle(.committed(batch: 1, durable: true)), seated: [1, 2, 3])
        // Only one message comes while the fan-out is written: the wait lasts the turn, and the window is one.
        _ = harness.handle(.chat(connectionID: 2, body: "d", clientID: nil, ref: "4"))
        #expect(harness.handle(.commitDue(held: false)) == [.scheduleCommitAfterFanOut])
        #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [2])
        #expect(harness.room.pacedWindow == 1)
    }

    @Test func otherModesHandTheCommitOutAtOnce() {
        for mode in [DurableBatchJoining.off, .all, .others] {
            var harness = room(mode)
            _ = harness.handle(.chat(connectionID: 1, body: "a", clientID: nil, ref: "1"))
            _ = harness.handle(.commitDue(held: false))
            _ = harness.handle(.committed(batch: 0, durable: true))
            _ = harness.handle(.chat(connectionID: 2, body: "b", clientID: nil, ref: "2"))
            #expect(harness.handle(.commitDue(held: false)).persisted.map(\.batch) == [1])
        }
    }

    @Test func aWaitingCommitHeldForAnUpgradeStaysPendingAndGoesInTheSnapshot() {
        var harness = room()
        _ = harness.handle(.chat(connectionID: 1, body: "a", clientID: nil, ref: "1"))
        _ = harness.handle(.commitDue(held: false))
        _ = harness.handle(.committed(batch: 0, durable: true))
        _ = harness.handle(.chat(connectionID: 2, body: "b", clientID: nil, ref: "2"))
        #expect(harness.handle(.commitDue(held: false)) == [.scheduleCommitAfterFanOut])
        // The upgrade holds commits: the waiting one hands out nothing, and the export carries the message.
        #expect(harness.handle(.commitDue(held: true)).persisted.isEmpty)
        let exported = harness.handle(.export(stagedPresence: nil))
        let snapshot = exported.compactMap { if case .exported(let snapshot) = $0 { snapshot } else { nil } }.first
        #expect(snapshot?.pending.map(\.message.id) == [2])
    }

    @Test func theCountsSayWhichBatchesWereHeldJoinedOrAlone() {
        var harness = room(.others)
        for ref in ["1", "2"] { _ = harness.handle(.chat(connectionID: 1, body: ref, clientID: nil, ref: ref)) }
        _ = harness.handle(.commitDue(held: false))
        _ = harness.handle(.chat(connectionID: 2, body: "3", clientID: nil, ref: "3"))
        _ = harness.handle(.commitDue(held: false))
        _ = harness.handle(.committed(batch: 0, durable: true))  // held for batch 1, out for persistence
        _ = harness.handle(.committed(batch: 1, durable: true))  // the one batch 0 waited for: both out, one run
        var counts = harness.room.batchCounts
        #expect(counts.durable == 2 && counts.messages == 3)
        #expect(counts.heldForInFlight == 1 && counts.held == 1 && counts.commitsAhead == 1)
        #expect(counts.byReason[DurableBatchCounts.Reason.joined.rawValue] == 1)
        #expect(counts.byReason[DurableBatchCounts.Reason.endsHold.rawValue] == 1)
        // A held batch that a presence change releases counts as released by a delivery.
        _ = harness.handle(.chat(connectionID: 1, body: "4", clientID: nil, ref: "4"))
        _ = harness.handle(.commitDue(held: false))
        _ = harness.handle(.chat(connectionID: 1, body: "5", clientID: nil, ref: "5"))
        _ = harness.handle(.committed(batch: 2, durable: true))  // held: message 5's commit is queued
        _ = harness.handle(.leave(connectionID: 3))
        harness.clock.advance(100)
        _ = harness.handle(.timer)
        counts = harness.room.batchCounts
        #expect(counts.heldForPending == 1)
        #expect(counts.byReason[DurableBatchCounts.Reason.delivery.rawValue] == 1)
    }

    @Test func withTheSettingOffNoBatchIsHeldAndTheCountsSaySo() {
        var harness = room(.off, countsEvery: 2)
        var logged: [String] = []
        for batch in 0..<4 {
            _ = harness.handle(.chat(connectionID: 1, body: "x", clientID: nil, ref: "\(batch)"))
            _ = harness.handle(.commitDue(held: false))
            for case .log(.notice, let text) in harness.handle(.committed(batch: batch, durable: true)) {
                logged.append(text)
            }
        }
        #expect(harness.room.batchCounts.byReason[DurableBatchCounts.Reason.setting.rawValue] == 4)
        #expect(harness.room.batchCounts.held == 0)
        // Every second durable batch, one line with the counts so far.
        #expect(logged.count == 2)
        #expect(logged.last?.contains("durable=4 messages=4 held=0") == true)
    }
}
