import HoldfastBytes
import HoldfastChannels
import HoldfastHandoff
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms
import Testing

/// A channel handler that keeps per-member assigns (`{"n": N}`) and presence metas, as the chat handler does.
private struct CountingChannel: RoomChannel {
    var version: String { "1" }
    var interceptedEvents: Set<String> { [] }

    func join(params: JSONValue, context: inout RoomChannelContext) -> RoomChannelJoin {
        .allow(
            reply: .emptyObject, presenceMeta: .object([JSONMember("status", .string("here"))]),
            assigns: .object([JSONMember("n", .integer(0)), JSONMember("user", .string(context.user))]))
    }

    func handleIn(event: String, payload: JSONValue, context: inout RoomChannelContext) -> [RoomChannelAction] {
        switch event {
        case "ping":
            context.assigns = .object([JSONMember("n", .integer((context.assigns["n"]?.integerValue ?? 0) + 1))])
            return []
        case "forget": context.assigns = .null; return []
        case "away": return [.updatePresence(meta: .object([JSONMember("status", .string("away"))]))]
        case "new_msg": return [.store(body: payload["body"]?.stringValue ?? "", clientID: nil)]
        case "delete_msg":
            return [.store(body: "", clientID: nil, kind: .delete, target: payload["id"]?.integerValue ?? 0)]
        default: return []
        }
    }

    func handleOut(event: String, payload: JSONValue, member: Member, assigns: JSONValue) -> JSONValue? { payload }
    func handleInfo(tag: String, context: inout RoomChannelContext) -> [RoomChannelAction] { [] }
    func leave(context: inout RoomChannelContext) -> [RoomChannelAction] { [] }
    func terminate(reason: String, context: inout RoomChannelContext) {}
    func render(_ message: ChatMessage, replay: Bool, context: RoomChannelContext) -> JSONValue {
        .string(message.body)
    }
    func migrateRoomState(fromVersion: String, _ state: JSONValue) throws -> JSONValue { state }
    func migrateAssigns(fromVersion: String, _ assigns: JSONValue) throws -> JSONValue { assigns }
}

/// A room staged with its assigns and authors, changed before the pause: the pause's record of changes, applied
/// to what the new process staged, gives exactly the room the full record gives.
@Suite struct StagedRoomChangesTests {
    private var room = RoomState(
        topic: "room:staged",
        configuration: RoomConfiguration(presenceRefPrefix: "S", presenceWindowMilliseconds: 20, historyLimit: 50),
        channel: CountingChannel(), lastID: 0)
    private var now = RoomInstant(monotonic: 1_000, wall: 1_700_000_000_000)

    private static func member(_ id: UInt64, _ user: String) -> Member {
        Member(connectionID: id, user: user, joinRef: "jr\(id)", version: .v2)
    }

    @discardableResult
    private mutating func handle(_ event: RoomEvent) -> [RoomAction] {
        now = RoomInstant(monotonic: now.monotonic + 1, wall: now.wall + 1)
        return room.handle(event, now: now)
    }

    /// Joins, then lets the presence window pass.
    private mutating func settle(_ id: UInt64, _ user: String) {
        handle(.join(Self.member(id, user), ref: "j\(id)", payload: .emptyObject))
        passWindow()
    }

    private mutating func passWindow() {
        now = RoomInstant(monotonic: now.monotonic + 100, wall: now.wall + 100)
        handle(.timer)
    }

    private mutating func push(_ id: UInt64, _ event: String, _ payload: JSONValue = .emptyObject) {
        handle(.handleIn(connectionID: id, event: event, payload: payload, ref: "r"))
    }

    /// Stores a message from `id` and makes it durable (its author is remembered).
    private mutating func storeDurably(_ id: UInt64, _ body: String) {
        push(id, "new_msg", .object([JSONMember("body", .string(body))]))
        for action in handle(.commitDue(held: false)) {
            if case .persist(let batch, _) = action { handle(.committed(batch: batch, durable: true)) }
        }
    }

    /// A room of four members with assigns, presence and two stored messages.
    private mutating func populate() {
        for (id, user) in [(1, "alice"), (2, "bob"), (3, "carol"), (4, "dave")] as [(UInt64, String)] {
            settle(id, user)
        }
        push(1, "ping")
        storeDurably(1, "first")
        storeDurably(2, "second")
    }

    private mutating func stage() throws -> StagedRoom {
        guard case .staged(let staged)? = handle(.stage).first else {
            Issue.record("no staged copy")
            throw ByteReadError.invalid("no staged copy")
        }
        return staged
    }

    private mutating func export(_ staged: StagedRoom, stagedSeats: UInt64? = nil) throws -> RoomSnapshot {
        handle(.commitDue(held: true))  // the pause holds commits: what is accepted stays pending
        let event = RoomEvent.export(stagedPresence: staged.presenceGeneration, stagedSeats: stagedSeats)
        guard case .exported(let exported)? = handle(event).last,
            let snapshot = exported
        else {
            Issue.record("no snapshot")
            throw ByteReadError.invalid("no snapshot")
        }
        return snapshot
    }

    enum Change: String, CaseIterable, Sendable {
        case nothing, memberJoins, memberLeaves, assignsChange, assignsCleared, presenceMetaChanges, messageStored,
            messagePending, messageDeleted, everything
    }

    @Test(arguments: Change.allCases)
    mutating func changesSinceStagingRebuildTheSameRoom(change: Change) throws {
        populate()
        let staged = try stage()
        #expect(staged.assigns.count == 4 && staged.authors.order.count == 2)
        // The new process's copy, as it reads the staging record.
        let stagedThere = try StagedRoom(decoding: staged.encode(withValues: true))
        #expect(stagedThere == staged)
        let all = change == .everything
        if change == .memberJoins || all { settle(5, "eve") }
        if change == .memberLeaves || all { handle(.leave(connectionID: 2)); passWindow() }
        if change == .assignsChange || all { push(3, "ping") }
        if change == .assignsCleared || all { push(4, "forget") }
        if change == .presenceMetaChanges || all { push(1, "away"); passWindow() }
        if change == .messageStored || all { storeDurably(3, "third") }
        if change == .messagePending || all { push(1, "new_msg", .object([JSONMember("body", .string("held"))])) }
        if change == .messageDeleted || all { push(1, "delete_msg", .object([JSONMember("id", .integer(1))])) }
        let snapshot = try export(staged)

        let full = try RoomSnapshot(decoding: snapshot.encode())
        let changes = snapshot.encodeChanges(since: StagedRoomValues(staged))
        #expect(changes.first == HandoffFormat.roomChangesRecord)
        let rebuilt = try RoomSnapshot(decoding: changes, staged: StagedRoomValues(stagedThere))
        #expect(rebuilt == full)
        #expect(rebuilt.handler?.assigns == room.seats.compactMapValues { $0.assigns == .null ? nil : $0.assigns })
        #expect(rebuilt.authors == room.authors)
        // Presence travels only when it moved since staging.
        let presenceMoved = [.memberJoins, .memberLeaves, .presenceMetaChanges, .everything].contains(change)
        #expect((rebuilt.presence != nil) == presenceMoved)
        if change == .nothing {
            // Nothing of the members travels again: the record is the room's head and empty sections.
            #expect(changes.count < snapshot.encode().count / 2)
        }
        // The new process rebuilds the room from it exactly as the old one left it.
        let members = Dictionary(uniqueKeysWithValues: room.seats.map { ($0.key, $0.value.member) })
        let imported = RoomState(
            importing: rebuilt, presence: rebuilt.presence ?? stagedThere.presence, members: members,
            configuration: room.configuration, handler: CountingChannel())
        #expect(imported.seats == room.seats)
        #expect(imported.presencePayload == room.presencePayload)
        #expect(imported.authors == room.authors && imported.lastID == room.lastID)

        // With the staged seat generation: a room whose seats did not move since staging neither copies nor
        // compares its members' assigns, and its record of changes rebuilds the same room.
        let marked = try export(staged, stagedSeats: staged.seatsGeneration)
        #expect(marked.assignsAsStaged == (room.seatsGeneration == staged.seatsGeneration))
        #expect(marked.assignsAsStaged == (marked.handler?.assigns.isEmpty ?? true))
        if change == .nothing { #expect(marked.assignsAsStaged) }
        if [.memberJoins, .memberLeaves, .assignsChange, .assignsCleared].contains(change) {
            #expect(!marked.assignsAsStaged)
        }
        let markedChanges = marked.encodeChanges(since: StagedRoomValues(staged))
        #expect(try RoomSnapshot(decoding: markedChanges, staged: StagedRoomValues(stagedThere)) == full)
    }

    @Test func authorsDroppedAndAddedTravelAsChangesAndAReorderAsAWhole() throws {
        let staged = StagedRoomValues(authors: MessageAuthors(entries: [(1, "a"), (2, "b"), (3, "c")]))
        var room = RoomSnapshot(topic: "room:a", lastID: 4, presence: nil, awaitingState: [])
        room.authors = MessageAuthors(entries: [(1, "a"), (3, "c"), (4, "d")])
        let changes = room.encodeChanges(since: staged)
        // Form 0: one id dropped (2), one entry added (4, "d").
        #expect(Array(changes.suffix(7)) == [0x00, 0x01, 0x04, 0x01, 0x08, 0x01, 0x64])
        #expect(try RoomSnapshot(decoding: changes, staged: staged).authors == room.authors)
        // 2 forgotten, then 2 remembered again: it comes last now, which drops and adds cannot say.
        room.authors = MessageAuthors(entries: [(1, "a"), (3, "c"), (2, "b")])
        let reordered = room.encodeChanges(since: staged)
        // Form 1: all three.
        #expect(Array(reordered.suffix(11)) == [0x01, 0x03, 0x02, 0x01, 0x61, 0x06, 0x01, 0x63, 0x04, 0x01, 0x62])
        #expect(try RoomSnapshot(decoding: reordered, staged: staged).authors == room.authors)
        // Against nothing staged, everything is a change.
        #expect(try RoomSnapshot(decoding: reordered, staged: StagedRoomValues()).authors == room.authors)
    }

    @Test func damagedChangesAreRefused() throws {
        var room = RoomSnapshot(topic: "room:a", lastID: 4, presence: nil, awaitingState: [])
        room.handler = HandlerValues(
            version: "1", state: .null, assigns: [7: .integer(1), 9: .integer(2)], timers: [])
        let changes = room.encodeChanges(since: StagedRoomValues())
        #expect(try RoomSnapshot(decoding: changes, staged: StagedRoomValues()) == room)
        for cut in 1..<changes.count {
            #expect(throws: ByteReadError.self) {
                try RoomSnapshot(decoding: Array(changes.prefix(cut)), staged: StagedRoomValues())
            }
        }
        #expect(throws: ByteReadError.self) { try RoomSnapshot(decoding: changes + [0], staged: StagedRoomValues()) }
    }
}
