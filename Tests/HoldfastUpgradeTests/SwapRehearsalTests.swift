import HoldfastHandlerAPI
import HoldfastUpgrade
import Testing

@Suite("Rehearsing a swap on exported state, in this process")
struct SwapRehearsalTests {
    private func v1State(_ counters: [(String, Int64)]) -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(UInt8(1))
        writer.write(UInt64(counters.count))
        for (topic, count) in counters {
            writer.write(topic)
            writer.write(count)
        }
        return writer.bytes
    }

    @Test func theRequestRoundTripsThroughItsEncoding() throws {
        let request = SwapRehearsal(
            kind: .rollback, targetPath: "/a/libChatHandlers.so", currentPath: "/b/libChatHandlers.so",
            currentVersion: "2.0.0", state: [2, 0, 255, 1], configPath: "/etc/holdfast/handlers.json")
        #expect(try SwapRehearsal(decoding: request.encoded()) == request)
        let empty = SwapRehearsal(kind: .upgrade, targetPath: "t", currentPath: "", currentVersion: "1", state: [])
        #expect(try SwapRehearsal(decoding: empty.encoded()) == empty)
        #expect(throws: StateDecodingError.self) { try SwapRehearsal(decoding: Array("HFX\u{1}".utf8)) }
        #expect(throws: StateDecodingError.self) { try SwapRehearsal(decoding: Array(request.encoded().prefix(9))) }
    }

    @Test func anUpgradeToVersion2RunsEveryStepOnTheGivenState() async throws {
        var steps: [SwapStep] = []
        let request = SwapRehearsal(
            kind: .upgrade, targetPath: try await PluginFixtures.chatHandlersV2.value,
            currentPath: PluginFixtures.chatHandlersV1, currentVersion: "1.0.0",
            state: v1State([("room:a", 3), ("room:b", 5)]))
        let summary = try request.run { steps.append($0) }
        #expect(steps == [.load, .load, .migrate, .makeHandler, .exportState, .makeHandlerFromExport])
        #expect(summary.stepMicroseconds.map(\.step) == steps)
        #expect((summary.fromVersion, summary.toVersion) == ("1.0.0", "2.0.0"))
        #expect(summary.convertedBytes > 0 && summary.exportedBytes == summary.convertedBytes)
    }

    @Test func aRollbackRunsTheCurrentCodesDowngrade() async throws {
        let v2 = try PluginLoader.load(path: try await PluginFixtures.chatHandlersV2.value)
        let v2State = try v2.factory.migrate(fromVersion: "1.0.0", state: v1State([("room:a", 4)]))
        var steps: [SwapStep] = []
        let request = SwapRehearsal(
            kind: .rollback, targetPath: PluginFixtures.chatHandlersV1, currentPath: v2.path, currentVersion: "2.0.0",
            state: v2State)
        let summary = try request.run { steps.append($0) }
        #expect(steps == [.load, .load, .downgrade, .makeHandler, .exportState, .makeHandlerFromExport])
        #expect(summary.toVersion == "1.0.0")
    }

    @Test func theSameErrorsAsTheSwapItself() async throws {
        let throwing = SwapRehearsal(
            kind: .upgrade, targetPath: try await PluginFixtures.migrateThrows.value, currentPath: "",
            currentVersion: "1.0.0", state: v1State([]))
        let error = try #require(throws: PluginUpgradeError.self) { try throwing.run() }
        #expect(error.check == "migration_failed")
        let refusing = SwapRehearsal(
            kind: .upgrade, targetPath: try await PluginFixtures.initThrows.value, currentPath: "",
            currentVersion: "1.0.0", state: v1State([]))
        #expect(
            throws: PluginUpgradeError.migration(
                .initFailed(version: "9.0.0-init-throws", reason: "init refuses every state by design"))
        ) {
            try refusing.run()
        }
        let missing = SwapRehearsal(
            kind: .upgrade, targetPath: PluginFixtures.temporaryDirectory + "/none.so", currentPath: "",
            currentVersion: "1.0.0", state: [])
        #expect(throws: PluginUpgradeError.load(.fileNotFound(path: PluginFixtures.temporaryDirectory + "/none.so"))) {
            try missing.run()
        }
    }

    @Test func aGateDecidesOnceBetweenCommitAndAbandon() {
        let committed = CommitGate()
        #expect(committed.commit())
        #expect(!committed.abandon())
        #expect(committed.commit())
        let abandoned = CommitGate()
        #expect(abandoned.abandon())
        #expect(!abandoned.commit())
    }

    @Test func anAbandonedSwapPublishesNothing() async throws {
        let registry = PluginRegistry()
        let handler = try registry.start(with: try registry.load(path: PluginFixtures.chatHandlersV1))
        let v2 = try registry.load(path: try await PluginFixtures.chatHandlersV2.value)
        let gate = CommitGate()
        #expect(gate.abandon())
        #expect(throws: PluginUpgradeError.abandoned) { try registry.upgrade(to: v2, gate: gate) }
        #expect(registry.handler === handler)
        #expect(registry.current?.version == "1.0.0")
        #expect(!registry.isBusy)
    }
}
