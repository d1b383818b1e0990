import HoldfastChannels
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms
import Testing

/// The scripted handler, keeping each member's presence meta as its assigns (as the chat handlers do).
private struct MetaAsAssigns: RoomChannel {
    let base = ChatHandlerChannel(ScriptedHandler())
    var version: String { base.version }
    var interceptedEvents: Set<String> { [] }

    func join(params: JSONValue, context: inout RoomChannelContext) -> RoomChannelJoin {
        let decision = base.join(params: params, context: &context)
        guard case .allow(let reply, let meta, _) = decision else { return decision }
        return .allow(reply: reply, presenceMeta: meta, assigns: meta ?? .null)
    }

    func handleIn(event: String, payload: JSONValue, context: inout RoomChannelContext) -> [RoomChannelAction] {
        base.handleIn(event: event, payload: payload, context: &context)
    }

    func handleOut(event: String, payload: JSONValue, member: Member, assigns: JSONValue) -> JSONValue? { payload }
    func handleInfo(tag: String, context: inout RoomChannelContext) -> [RoomChannelAction] { [] }
    func leave(context: inout RoomChannelContext) -> [RoomChannelAction] { [] }
    func terminate(reason: String, context: inout RoomChannelContext) {}

    func render(_ message: ChatMessage, replay: Bool, context: RoomChannelContext) -> JSONValue {
        base.render(message, replay: replay, context: context)
    }

    func migrateRoomState(fromVersion: String, _ state: JSONValue) throws -> JSONValue { state }
    func migrateAssigns(fromVersion: String, _ assigns: JSONValue) throws -> JSONValue { assigns }
}

/// Members whose metas encode alike (a join burst: one device, one millisecond) share one meta array, with their
/// assigns too; what clients see is each member's own meta, byte for byte.
@Suite struct RoomMetaSharingTests {
    private var room = RoomState(
        topic: "room:burst",
        configuration: RoomConfiguration(presenceRefPrefix: "S", presenceWindowMilliseconds: 20, historyLimit: 50),
        channel: MetaAsAssigns(), lastID: 0)
    private var clock = FakeClock()

    private mutating func join(_ id: UInt64, device: String) {
        _ = room.handle(
            .join(member(id, "user\(id)"), ref: "j\(id)", payload: .object([JSONMember("device", .string(device))])),
            now: clock.now)
    }

    private func storage(_ value: JSONValue?) -> UnsafeRawPointer? {
        value?.objectMembers?.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    private func meta(_ id: UInt64) -> JSONValue? { room.presenceMeta(of: id)?.meta }

    /// The device of `user`'s one meta as clients receive it, in UTF-8.
    private func sentDevice(_ user: String) -> [UInt8] {
        guard case .array(let metas)? = room.presencePayload[user]?["metas"], let device = metas.first?["device"],
            case .string(let text) = device
        else { return [] }
        return Array(text.utf8)
    }

    @Test mutating func joinsWithAlikeMetasShareOneArrayWithTheirAssigns() {
        for id in UInt64(1)...3 { join(id, device: "web") }
        clock.advance(1)
        join(4, device: "web")
        let shared = storage(meta(1))
        #expect(shared != nil && storage(meta(2)) == shared && storage(meta(3)) == shared)
        for id in UInt64(1)...3 { #expect(storage(room.seats[id]?.assigns) == shared) }
        // A millisecond later the meta differs: an array of its own, still shared with the member's assigns.
        #expect(storage(meta(4)) != shared && storage(room.seats[4]?.assigns) == storage(meta(4)))
        #expect(meta(4)?["online_at"] == .integer(clock.wall) && meta(3)?["online_at"] == .integer(clock.wall - 1))
        #expect(room.seats[2]?.assigns == meta(2))
    }

    @Test mutating func metasThatAreEqualButEncodeDifferentlyAreKeptApart() {
        join(1, device: "cafe\u{301}")
        join(2, device: "caf\u{E9}")
        join(3, device: "caf\u{E9}")
        #expect(storage(meta(1)) != storage(meta(2)) && storage(meta(2)) == storage(meta(3)))
        #expect(sentDevice("user1") == Array("cafe\u{301}".utf8))
        #expect(sentDevice("user2") == Array("caf\u{E9}".utf8) && sentDevice("user3") == Array("caf\u{E9}".utf8))
    }

    @Test mutating func aRoomImportedFromABinaryUpgradeSharesItsMetasAndAssignsAgain() throws {
        for id in UInt64(1)...3 { join(id, device: "web") }
        clock.advance(100)
        _ = room.handle(.timer, now: clock.now)
        guard case .exported(let exported)? = room.handle(.export(stagedPresence: nil), now: clock.now).last,
            let snapshot = exported
        else {
            Issue.record("no snapshot")
            return
        }
        let members = Dictionary(uniqueKeysWithValues: room.seats.map { ($0.key, $0.value.member) })
        let imported = RoomState(
            importing: snapshot, presence: try #require(snapshot.presence), members: members,
            configuration: room.configuration, handler: MetaAsAssigns())
        #expect(imported.seats == room.seats && imported.presencePayload == room.presencePayload)
        let shared = imported.presenceMeta(of: 1)?.meta.objectMembers?.withUnsafeBufferPointer {
            UnsafeRawPointer($0.baseAddress)
        }
        #expect(shared != nil)
        for id in UInt64(1)...3 {
            #expect(storage(imported.presenceMeta(of: id)?.meta) == shared)
            #expect(storage(imported.seats[id]?.assigns) == shared)
        }
    }
}
