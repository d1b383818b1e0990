import ChatHandlers
import HandlerTesting
import HoldfastHandlerAPI
import Testing

/// Chat handlers 2.0.0 (an API 1 plugin) in HandlerTesting's fake room, which adapts it as the server does.
@Suite struct ChatHandlersV2Tests {
    @Test func messagesCarryTheHandlerVersionAndOnlyTheThreeHooksExist() throws {
        let room = FakeRoom(try ChatHandlersFactory().makeHandler(state: nil))
        let alice = try #require(room.join("alice", params: .object([HandlerMember("device", .string("phone"))])).id)
        let bob = try #require(room.join("bob").id)
        #expect(room.seats[alice]?.presenceMeta["device"] == .string("phone"))
        room.handleIn(alice, "new_msg", .object([HandlerMember("body", .string("hi"))]))
        #expect(room.lastReply(to: alice)?.payload == .object([HandlerMember("id", .int(1))]))
        let payload = try #require(room.payloads(of: "new_msg", to: bob).first)
        #expect(payload["handler_version"] == .string("2.0.0") && payload["user"] == .string("alice"))
        room.handleIn(alice, "typing")
        #expect(room.received(by: bob).map(\.event) == ["new_msg", "typing"] && room.received(by: alice).count == 1)
        room.handleIn(alice, "new_msg", .object([HandlerMember("body", .string(""))]))
        #expect(room.lastReply(to: alice)?.payload == .reason("empty message"))
        room.handleIn(alice, "react", .object([]))
        #expect(room.lastReply(to: alice)?.payload == .reason("unknown event"))
    }

    @Test func theCountsGoFromOneDotZeroToTwoAndBack() throws {
        let factory = ChatHandlersFactory()
        var writer = BinaryWriter()
        writer.write(UInt8(1))
        writer.write(UInt64(1))
        writer.write("room:test")
        writer.write(Int64(4))
        let builtIn = writer.bytes
        let handler = try factory.makeHandler(state: try factory.migrate(fromVersion: "1.0.0", state: builtIn))
        let room = FakeRoom(handler)
        let alice = try #require(room.join("alice").id)
        room.handleIn(alice, "new_msg", .object([HandlerMember("body", .string("five"))]))
        #expect(handler.stateSummary()["rooms"]?["room:test"]?["messages"] == .int(5))
        #expect(handler.stateSummary()["rooms"]?["room:test"]?["last_user"] == .string("alice"))
        let back = try factory.downgrade(toVersion: "1.0.0", state: handler.exportState())
        var expected = BinaryWriter()
        expected.write(UInt8(1))
        expected.write(UInt64(1))
        expected.write("room:test")
        expected.write(Int64(5))
        #expect(back == expected.bytes)
    }
}
