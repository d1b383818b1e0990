import Foundation
import HoldfastHandlerAPI
import HoldfastUpgrade
import Testing

@Suite("Migrating handler state between plugin versions")
struct StateMigrationTests {
    private func send(_ handler: any RoomHandler, topic: String, user: String, count: Int, at timestamp: Int64 = 1000) {
        for index in 0..<count {
            _ = handler.messagePayload(
                topic: topic, id: Int64(index + 1), user: user, body: "m\(index)", timestamp: timestamp, clientID: nil,
                delivery: .live)
        }
    }

    @Test func upgradesToVersion2AndRollsBack() async throws {
        let registry = PluginRegistry()
        let v1 = try registry.load(path: PluginFixtures.chatHandlersV1)
        let v1Handler = try registry.start(with: v1)
        send(v1Handler, topic: "room:a", user: "ann", count: 3)
        send(v1Handler, topic: "room:b", user: "bob", count: 5)

        let migrated = try registry.upgrade(path: try await PluginFixtures.chatHandlersV2.value)
        #expect(migrated.fromVersion == "1.0.0")
        #expect(migrated.toVersion == "2.0.0")
        #expect(registry.current?.version == "2.0.0")
        #expect(registry.previous?.version == "1.0.0")
        #expect(registry.generation == 2)
        let v2Handler = try #require(registry.handler)
        #expect(v2Handler === migrated.handler)
        #expect(v2Handler.version == "2.0.0")
        func room(_ messages: Int64, _ user: String, _ at: Int64) -> HandlerValue {
            .object([HandlerMember("messages", .int(messages)), HandlerMember("last_user", .string(user)), HandlerMember("last_at", .int(at))])
        }
        #expect(v2Handler.stateSummary() == .object([HandlerMember("rooms", .object([
            HandlerMember("room:a", room(3, "", 0)), HandlerMember("room:b", room(5, "", 0)),
        ]))]))

        // New behaviour right away, and the counters continue.
        let payload = v2Handler.messagePayload(
            topic: "room:a", id: 4, user: "cid", body: "hello", timestamp: 2000, clientID: nil, delivery: .live)
        #expect(payload["handler_version"] == .string("2.0.0"))
        #expect(payload["id"] == .int(4))
        #expect(v2Handler.stateSummary()["rooms"]?["room:a"] == room(4, "cid", 2000))

        // Rollback: 2.0.0 downgrades its state, 1.0.0 serves it with the messages counted meanwhile.
        let back = try registry.rollback()
        #expect(back.toVersion == "1.0.0")
        #expect(registry.current?.version == "1.0.0")
        #expect(registry.previous == nil)
        #expect(registry.handler?.stateSummary() == .object([HandlerMember("rooms", .object([
            HandlerMember("room:a", .int(4)), HandlerMember("room:b", .int(5)),
        ]))]))
        #expect(throws: PluginUpgradeError.noPreviousVersion) { try registry.rollback() }
        #expect(registry.loaded.count == 2)
    }

    @Test func anUpgradeToAnOlderBuildUsesTheCurrentCodesDowngrade() async throws {
        let registry = PluginRegistry()
        let v1 = try registry.load(path: PluginFixtures.chatHandlersV1)
        send(try registry.start(with: v1), topic: "room:a", user: "ann", count: 3)
        try registry.upgrade(path: try await PluginFixtures.chatHandlersV2.value)
        send(try #require(registry.handler), topic: "room:a", user: "bob", count: 1)
        // v1 cannot read v2's format; v2 converts its state back instead, as a rollback would.
        let back = try registry.upgrade(path: PluginFixtures.chatHandlersV1)
        #expect((back.fromVersion, back.toVersion) == ("2.0.0", "1.0.0"))
        #expect(registry.current?.version == "1.0.0")
        #expect(registry.handler?.stateSummary()["rooms"]?["room:a"] == .int(4))
    }

    @Test func version2RefusesUnknownVersionsWithATypedError() async throws {
        let v2 = try PluginLoader.load(path: try await PluginFixtures.chatHandlersV2.value)
        #expect(throws: HandlerMigrationError.unsupportedVersion(from: "0.9.0", to: "2.0.0")) {
            try v2.factory.migrate(fromVersion: "0.9.0", state: [1, 0])
        }
        #expect(throws: StateDecodingError.self) { try v2.factory.migrate(fromVersion: "1.0.0", state: [1, 5]) }
        #expect(throws: StateDecodingError.self) { try v2.factory.makeHandler(state: [1, 0]) }
    }

    @Test func aMigrationThatThrowsChangesNothing() async throws {
        let registry = PluginRegistry()
        let handler = try registry.start(with: try registry.load(path: PluginFixtures.chatHandlersV1))
        send(handler, topic: "room:a", user: "ann", count: 2)
        let before = handler.stateSummary()

        let path = try await PluginFixtures.migrateThrows.value
        let error = try #require(throws: PluginUpgradeError.self) { try registry.upgrade(path: path) }
        guard case .migration(.migrationFailed(let from, let to, let reason)) = error else { Issue.record("got \(error)"); return }
        #expect(from == "1.0.0")
        #expect(to == "9.0.0-migrate-throws")
        #expect(reason.contains("migration refuses by design"))
        #expect(error.check == "migration_failed")
        try expectUnchanged(registry, handler: handler, summary: before)
    }

    @Test func aPluginWhoseInitThrowsChangesNothing() async throws {
        let registry = PluginRegistry()
        let handler = try registry.start(with: try registry.load(path: PluginFixtures.chatHandlersV1))
        send(handler, topic: "room:z", user: "zed", count: 1)
        let before = handler.stateSummary()

        let path = try await PluginFixtures.initThrows.value
        let error = try #require(throws: PluginUpgradeError.self) { try registry.upgrade(path: path) }
        #expect(error == .migration(.initFailed(version: "9.0.0-init-throws", reason: "init refuses every state by design")))
        try expectUnchanged(registry, handler: handler, summary: before)
    }

    @Test func aRefusedLoadChangesNothing() throws {
        let registry = PluginRegistry()
        let handler = try registry.start(with: try registry.load(path: PluginFixtures.chatHandlersV1))
        let before = handler.stateSummary()
        let missing = PluginFixtures.temporaryDirectory + "/missing.so"
        #expect(throws: PluginUpgradeError.load(.fileNotFound(path: missing))) { try registry.upgrade(path: missing) }
        try expectUnchanged(registry, handler: handler, summary: before)
    }

    private func expectUnchanged(_ registry: PluginRegistry, handler: any RoomHandler, summary: HandlerValue) throws {
        #expect(registry.handler === handler)
        #expect(registry.current?.version == "1.0.0")
        #expect(registry.generation == 1)
        #expect(handler.stateSummary() == summary)
        // The old handler keeps serving and counting.
        send(handler, topic: "room:after", user: "ann", count: 1)
        #expect(handler.stateSummary()["rooms"]?["room:after"] == .int(1))
    }

    @Test func migratesTenThousandRooms() async throws {
        let v1 = try PluginLoader.load(path: PluginFixtures.chatHandlersV1)
        let v2 = try PluginLoader.load(path: try await PluginFixtures.chatHandlersV2.value)
        // 10,000 rooms built through the v1 state format (as an export would give them).
        var writer = BinaryWriter()
        writer.write(UInt8(1))
        writer.write(UInt64(10_000))
        for room in 0..<10_000 {
            writer.write("room:\(room)")
            writer.write(Int64(room % 97 + 1))
        }
        let handler = try v1.factory.makeHandler(state: writer.bytes)

        var runs: [MigratedHandler] = []
        for _ in 0..<5 { runs.append(try StateMigration.migrate(from: handler, to: v2.factory)) }
        let rooms = try #require(runs[0].handler.stateSummary()["rooms"]?.objectMembers)
        #expect(rooms.count == 10_000)
        #expect(runs[0].handler.stateSummary()["rooms"]?["room:9999"]?["messages"] == .int(9999 % 97 + 1))
        let best = runs.min { $0.totalDuration < $1.totalDuration }!
        func ms(_ duration: Duration) -> String {
            String(format: "%.2f ms", Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000)
        }
        print("""
            migrate 10,000 rooms 1.0.0 → 2.0.0 (best of 5): total \(ms(best.totalDuration)) \
            (export \(ms(best.exportDuration)), migrate \(ms(best.convertDuration)), init \(ms(best.initDuration))); \
            state \(best.exportedBytes) → \(best.migratedBytes) bytes
            """)
    }
}
