import HoldfastChannels
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms
import Testing

@Suite struct RoomHandoffTests {
    private static let configuration = RoomConfiguration(
        presenceRefPrefix: "Q", presenceWindowMilliseconds: 20, historyLimit: 50)

    @Test func anExportedRoomImportsWithTheSamePresenceNumberingAndPendingMessages() throws {
        var harness = RoomHarness(lastID: 3)
        let alice = member(1, "alice")
        let bob = member(2, "bob", version: .v1)
        harness.settle(alice)
        harness.settle(bob)
        _ = harness.handle(.chat(connectionID: 2, body: "in flight", clientID: .string("c9"), ref: "8"))
        _ = harness.handle(.commitDue(held: true))  // an upgrade holds commits around its pause

        guard case .exported(let exported)? = harness.handle(.export(stagedPresence: nil)).first,
            let snapshot = exported
        else {
            Issue.record("no snapshot")
            return
        }
        #expect(snapshot.lastID == 4)
        #expect(snapshot.pending.map(\.message.body) == ["in flight"])
        let presence = try #require(snapshot.presence)

        var imported = RoomState(
            importing: snapshot, presence: presence, members: [1: alice, 2: bob],
            configuration: Self.configuration, handler: ScriptedHandler())
        // The same keys, metas and phx_refs.
        #expect(canonical(imported.presencePayload) == canonical(harness.room.presencePayload))
        #expect(imported.lastID == 4 && imported.memberCount == 2)
        // Resuming commits what the old process left pending; its sender gets the ok.
        let resumed = imported.handle(.resumeAfterHandoff, now: harness.clock.now)
        #expect(resumed.persisted.first?.messages.map(\.id) == [4])
        let done = imported.handle(.committed(batch: 0, durable: true), now: harness.clock.now)
        #expect(done.replies.first?.member == bob)
        #expect(done.broadcasts.first?.recipients == 2)
        // No presence change by itself: the upgrade emits no diff.
        #expect(imported.handle(.timer, now: harness.clock.now).broadcasts.isEmpty)
    }

    /// A binary upgrade sends a room's presence, and its members' assigns, only when their generation moved since
    /// staging: every change to the seats moves it, and a room restarted from its last state starts past both.
    @Test func everySeatChangeAndARestartMoveTheGenerationsAStagedCopyIsCheckedBy() {
        var harness = RoomHarness(lastID: 3)
        let alice = member(1, "alice")
        var seats = harness.room.seatsGeneration
        harness.settle(alice)
        #expect(harness.room.seatsGeneration != seats, "a join")
        seats = harness.room.seatsGeneration
        _ = harness.handle(.chat(connectionID: 1, body: "hello", clientID: nil, ref: "2"))
        _ = harness.handle(.timer)
        #expect(harness.room.seatsGeneration == seats, "a message leaves the seats as they were")
        let restarted = RoomState(recovering: harness.room, lastStoredID: 4)
        #expect(restarted.seats == harness.room.seats)
        #expect(restarted.seatsGeneration > harness.room.seatsGeneration)
        #expect(restarted.presenceGeneration > harness.room.presenceGeneration)
        _ = harness.handle(.leave(connectionID: 1))
        #expect(harness.room.seatsGeneration != seats, "a leave")
    }

    @Test func aServerAPIPublishPendingAtExportIsAnsweredByTheImportByItsTicket() throws {
        var harness = RoomHarness(lastID: 3)
        let alice = member(1, "alice")
        harness.settle(alice)
        _ = harness.handle(.publish(PublishRequest(user: "backend", body: "from api", clientID: nil, ticket: 77)))
        _ = harness.handle(.commitDue(held: true))
        guard case .exported(let exported)? = harness.handle(.export(stagedPresence: nil)).first,
            let snapshot = exported
        else {
            Issue.record("no snapshot")
            return
        }
        #expect(snapshot.pending.map(\.ticket) == [77])
        #expect(snapshot.pending.map(\.senderConnectionID) == [0])
        var imported = RoomState(
            importing: snapshot, presence: try #require(snapshot.presence), members: [1: alice],
            configuration: Self.configuration, handler: ScriptedHandler())
        _ = imported.handle(.resumeAfterHandoff, now: harness.clock.now)
        let done = imported.handle(.committed(batch: 0, durable: true), now: harness.clock.now)
        let answers = done.compactMap { action -> UInt64? in
            if case .answerPublish(let ticket, .stored(id: 4)) = action { return ticket }
            return nil
        }
        #expect(answers == [77])
    }

    @Test func aRoomWithBatchesOutForPersistenceCannotBeExported() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        _ = harness.handle(.chat(connectionID: 1, body: "hi", clientID: nil, ref: "5"))
        _ = harness.handle(.commitDue(held: false))
        #expect(harness.handle(.export(stagedPresence: nil)) == [.exported(nil)])
        _ = harness.handle(.committed(batch: 0, durable: true))
        #expect(harness.handle(.export(stagedPresence: nil)) != [.exported(nil)])
    }

    @Test func presenceUnchangedSinceStagingIsNotSentAgain() {
        var harness = RoomHarness()
        harness.settle(member(1, "alice"))
        guard case .staged(let staged)? = harness.handle(.stage).first else {
            Issue.record("not staged")
            return
        }
        guard case .exported(let same)? = harness.handle(.export(stagedPresence: staged.presenceGeneration)).first
        else {
            Issue.record("not exported")
            return
        }
        #expect(same?.presence == nil)
        harness.settle(member(2, "bob"))
        guard case .exported(let moved)? = harness.handle(.export(stagedPresence: staged.presenceGeneration)).first
        else {
            Issue.record("not exported")
            return
        }
        #expect(moved?.presence != nil)
    }

    @Test func aMemberWhoseConnectionDidNotComeAcrossLeavesAtResume() throws {
        var harness = RoomHarness()
        let alice = member(1, "alice")
        harness.settle(alice)
        harness.settle(member(2, "bob"))
        guard case .exported(let exported)? = harness.handle(.export(stagedPresence: nil)).first,
            let snapshot = exported, let presence = snapshot.presence
        else {
            Issue.record("no snapshot")
            return
        }
        var imported = RoomState(
            importing: snapshot, presence: presence, members: [1: alice], configuration: Self.configuration,
            handler: ScriptedHandler())
        #expect(imported.memberCount == 1)
        let resumed = imported.handle(.resumeAfterHandoff, now: harness.clock.now)
        #expect(!resumed.wakeTimes.isEmpty)
        let flush = imported.handle(.timer, now: harness.clock.now)
        #expect(flush.broadcasts.first?.v2Payload?["leaves"]?["bob"] != nil)
    }

    @Test func aRecoveredRoomKeepsItsMembersAndResyncsThem() {
        var harness = RoomHarness(lastID: 2)
        harness.settle(member(1, "alice"))
        harness.settle(member(2, "bob"))
        _ = harness.handle(.chat(connectionID: 1, body: "lost with the crash", clientID: nil, ref: "5"))
        var recovered = RoomState(recovering: harness.room, lastStoredID: 2)
        #expect(canonical(recovered.presencePayload) == canonical(harness.room.presencePayload))
        // The id handed out before the crash is never reused.
        #expect(recovered.lastID == 3)
        let resync = recovered.handle(.restarted, now: harness.clock.now)
        let pushes = resync.compactMap { action -> (Member, PhoenixMessage)? in
            if case .push(let member, let message) = action { (member, message) } else { nil }
        }
        #expect(Set(pushes.map(\.0.connectionID)) == [1, 2])
        #expect(pushes.allSatisfy { $0.1.event == "presence_state" && $0.1.joinRef == $0.0.joinRef })
        // Nothing is pending any more: a later commit has nothing to persist.
        #expect(recovered.handle(.commitDue(held: false), now: harness.clock.now).isEmpty)
    }
}
