import HandlerTesting
import HoldfastHandlerAPI
import ModerationHandlers
import Testing

/// The moderation handlers in a fake room: every rule, the settings and the migrations, without a server.
@Suite struct ModerationHandlersTests {
    static let settings = HandlerValue.object([
        HandlerMember("moderators", .array([.string("mia")])),
        HandlerMember("blocked_words", .array([.string("Spam")])),
        HandlerMember("slow_mode_seconds", .int(2)),
    ])

    func room(_ config: HandlerValue = Self.settings) throws -> FakeRoom {
        FakeRoom(try ModerationFactory().makeHandler(state: nil, config: config))
    }

    func message(_ body: String) -> HandlerValue { .object([HandlerMember("body", .string(body))]) }

    @Test func theWordFilterRefusesMessagesAndEditsWithABlockedWordAndCountsThem() throws {
        let room = try room()
        let alice = try #require(room.join("alice").id)
        room.handleIn(alice, "new_msg", message("buy SPAM now"))
        let blocked = FakeRoom.Reply(connectionID: alice, status: "error", payload: .reason("message blocked"))
        #expect(room.lastReply(to: alice) == blocked)
        room.handleIn(alice, "new_msg", message("spammer is fine, a whole word is not"))
        #expect(room.lastReply(to: alice)?.status == "ok" && room.history.count == 1)
        room.advance(by: 2_000)
        let edit = HandlerValue.object([HandlerMember("id", .int(1)), HandlerMember("body", .string("spam"))])
        room.handleIn(alice, "edit_msg", edit)
        #expect(room.lastReply(to: alice)?.payload == .reason("message blocked"))
        let handler = try #require(room.handler as? ModerationHandler)
        #expect(handler.counts("room:test") == RoomCounts(messages: 1, blocked: 2, kicks: 0))
    }

    @Test func aModeratorKicksEverySocketOfAUserAndOthersMayNot() throws {
        let room = try room()
        let mia = try #require(room.join("mia").id)
        let bob = try #require(room.join("bob").id)
        let bobsPhone = try #require(room.join("bob").id)
        room.handleIn(bob, "kick", .object([HandlerMember("user", .string("mia"))]))
        #expect(room.lastReply(to: bob)?.payload == .reason("not a moderator"))
        room.handleIn(mia, "kick", .object([HandlerMember("user", .string("bob"))]))
        #expect(room.lastReply(to: mia)?.payload == .object([HandlerMember("kicked", .string("bob"))]))
        #expect(room.closed.map(\.connectionID) == [bob, bobsPhone] && room.closed.first?.reason == "kicked by mia")
        #expect(room.connections(of: "bob").isEmpty && room.seats.count == 1)
        #expect(room.payloads(of: "kicked", to: bob) == [
            .object([HandlerMember("user", .string("bob")), HandlerMember("by", .string("mia"))])
        ])
    }

    @Test func slowModeRefusesASecondMessageInsideTheWindowUntilItsTimerEndsIt() throws {
        let room = try room()
        let alice = try #require(room.join("alice").id)
        let bob = try #require(room.join("bob").id)
        room.handleIn(alice, "new_msg", message("one"))
        #expect(room.timers.map(\.tag) == ["slow:alice"])
        room.advance(by: 500)
        room.handleIn(alice, "new_msg", message("two"))
        #expect(room.lastReply(to: alice)?.payload == .object([
            HandlerMember("reason", .string("slow mode")), HandlerMember("retry_after_ms", .int(1_500)),
        ]))
        room.handleIn(bob, "new_msg", message("others are not slowed by alice"))
        #expect(room.lastReply(to: bob)?.status == "ok")
        room.advance(by: 1_500)
        #expect(room.timers.map(\.tag) == ["slow:bob"] && room.roomState["slow"]?["alice"] == nil)
        room.handleIn(alice, "new_msg", message("three"))
        #expect(room.lastReply(to: alice)?.status == "ok")
        #expect(room.history.map(\.body) == ["one", "others are not slowed by alice", "three"])
        #expect(room.payloads(of: "new_msg", to: bob).count == 3)
    }

    @Test func onlyTheAuthorEditsOrDeletesAndADeletedMessageIsGone() throws {
        let room = try room(.null)
        let alice = try #require(room.join("alice").id)
        let bob = try #require(room.join("bob").id)
        room.handleIn(alice, "new_msg", message("hello"))
        room.handleIn(bob, "delete_msg", .object([HandlerMember("id", .int(1))]))
        #expect(room.lastReply(to: bob)?.payload == .reason("not your message"))
        room.handleIn(alice, "edit_msg", .object([HandlerMember("id", .int(1)), HandlerMember("body", .string("hi"))]))
        room.handleIn(alice, "delete_msg", .object([HandlerMember("id", .int(1))]))
        #expect(room.history.map(\.kind) == [.message, .edit, .delete])
        #expect(room.received(by: bob).map(\.event) == ["new_msg", "msg_edited", "msg_deleted"])
        #expect(room.payloads(of: "msg_edited", to: bob).first?["id"] == .int(1))
        room.handleIn(alice, "edit_msg", .object([HandlerMember("id", .int(1)), HandlerMember("body", .string("x"))]))
        #expect(room.lastReply(to: alice)?.payload == .reason("message not found"))
        room.handleIn(alice, "react", .object([]))
        #expect(room.lastReply(to: alice)?.payload == .reason("unknown event"))
    }

    @Test func settingsItCannotUseRefuseTheHandler() {
        for bad: HandlerValue in [
            .string("x"), .object([HandlerMember("moderators", .string("mia"))]),
            .object([HandlerMember("slow_mode_seconds", .int(-1))]), .object([HandlerMember("kick_all", .bool(true))]),
        ] {
            #expect(throws: SettingsError.self) { _ = try ModerationFactory().makeHandler(state: nil, config: bad) }
        }
    }

    @Test func stateMigratesFromTheBuiltInHandlersAndBack() throws {
        let factory = ModerationFactory()
        // The built-in handlers' 1.0.0 format: format 1, one room, ("room:a", 7).
        var writer = BinaryWriter()
        writer.write(UInt8(1))
        writer.write(UInt64(1))
        writer.write("room:a")
        writer.write(Int64(7))
        let builtIn = writer.bytes
        let migrated = try factory.migrate(fromVersion: "1.0.0", state: builtIn)
        let handler = try #require(try factory.makeHandler(state: migrated) as? ModerationHandler)
        #expect(handler.counts("room:a") == RoomCounts(messages: 7))
        #expect(try factory.downgrade(toVersion: "1.0.0", state: handler.exportState()) == builtIn)
        #expect(throws: HandlerMigrationError.self) { try factory.migrate(fromVersion: "0.9.0", state: builtIn) }
        #expect(throws: HandlerMigrationError.self) { try factory.downgrade(toVersion: "2.0.0", state: migrated) }
    }

    @Test func roomValuesSurviveASwapInAndOutAndAStaleWindowIsDropped() throws {
        // The built-in handlers' room state (reactions) comes through; a slow-mode window left from an earlier
        // stint of this code is dropped, since its timer fired under the other code.
        let state = HandlerValue.object([
            HandlerMember("reactions", .object([HandlerMember("1", .object([]))])),
            HandlerMember("slow", .object([HandlerMember("alice", .int(5))])),
        ])
        let handler = try #require(try ModerationFactory().makeHandler(state: nil) as? ModerationHandler)
        let migrated = try handler.migrateRoomState(fromVersion: "1.0.0", state)
        #expect(migrated == .object([HandlerMember("reactions", .object([HandlerMember("1", .object([]))]))]))
        #expect(try handler.migrateRoomState(fromVersion: ModerationFactory.version, state) == state)
    }
}
