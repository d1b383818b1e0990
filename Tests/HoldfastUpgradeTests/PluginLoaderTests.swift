import Foundation
import HoldfastHandlerAPI
import HoldfastJSON
import HoldfastUpgrade
import Testing

@Suite("Loading handler plugins")
struct PluginLoaderTests {
    @Test func loadsTheDefaultHandlersAndCallsThem() throws {
        let plugin = try PluginLoader.load(path: PluginFixtures.chatHandlersV1)
        #expect(plugin.version == "1.0.0")
        #expect(plugin.abi == handlerAPIVersion)
        #expect(plugin.buildTag == PluginLoader.hostBuildTag)
        let handler = try plugin.factory.makeHandler(state: nil)
        #expect(handler.version == "1.0.0")

        let join = JSONValue.object([JSONMember("device", .string("phone")), JSONMember("last_seen_id", .integer(3))])
        #expect(handler.authorizeJoin(topic: "room:a", user: "ann", payload: HandlerValue(join), now: 1000)
            == .allow(presenceMeta: .object([HandlerMember("device", .string("phone")), HandlerMember("online_at", .int(1000))])))
        #expect(handler.authorizeJoin(topic: "lobby", user: "ann", payload: .object([]), now: 0) == .deny(reason: "unknown topic"))
        #expect(handler.authorizeJoin(topic: "room:a", user: "ann", payload: .string("x"), now: 0)
            == .deny(reason: "join payload must be an object"))
        #expect(handler.validateMessage(topic: "room:a", user: "ann", body: "") == "empty message")
        #expect(handler.validateMessage(topic: "room:a", user: "ann", body: String(repeating: "x", count: 9000)) == "message too long")
        #expect(handler.validateMessage(topic: "room:a", user: "ann", body: "hi") == nil)

        let payload = handler.messagePayload(
            topic: "room:a", id: 7, user: "ann", body: "hi", timestamp: 99, clientID: .string("c1"), delivery: .live)
        #expect(JSONValue(payload) == .object([
            JSONMember("id", .integer(7)), JSONMember("user", .string("ann")), JSONMember("body", .string("hi")),
            JSONMember("ts", .integer(99)), JSONMember("client_id", .string("c1")),
        ]))
        _ = handler.messagePayload(topic: "room:a", id: 8, user: "bob", body: "yo", timestamp: 100, clientID: nil, delivery: .live)
        _ = handler.messagePayload(topic: "room:b", id: 1, user: "bob", body: "yo", timestamp: 100, clientID: nil, delivery: .live)
        _ = handler.messagePayload(topic: "room:b", id: 1, user: "bob", body: "yo", timestamp: 100, clientID: nil, delivery: .replay)
        let expected = HandlerValue.object([HandlerMember("rooms", .object([
            HandlerMember("room:a", .int(2)), HandlerMember("room:b", .int(1)),
        ]))])
        #expect(handler.stateSummary() == expected)

        // Its state survives an export and a rebuild by the same code.
        let rebuilt = try plugin.factory.makeHandler(state: handler.exportState())
        #expect(rebuilt.stateSummary() == expected)
        #expect(throws: (any Error).self) { try plugin.factory.makeHandler(state: [9, 9, 9]) }
    }

    @Test func hostAndPluginShareOneDynamicInterfaceLibrary() throws {
        let host = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        for binary in [host, PluginFixtures.chatHandlersV1] {
            let dynamic = try PluginFixtures.shell("readelf -d '\(binary)'")
            #expect(dynamic.contains("Shared library: [libHoldfastHandlerAPI.so]"), "\(binary) does not load the interface dynamically")
        }
        _ = try PluginLoader.load(path: PluginFixtures.chatHandlersV1)
        // procfs files report size 0: read to the end instead of by size.
        let mapsFile = try #require(FileHandle(forReadingAtPath: "/proc/self/maps"))
        let maps = String(decoding: try mapsFile.readToEnd() ?? Data(), as: UTF8.self)
        try mapsFile.close()
        let images = Set(maps.split(separator: "\n").compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).last.flatMap {
                $0.hasSuffix("/libHoldfastHandlerAPI.so") ? String($0) : nil
            }
        })
        #expect(images.count == 1, "interface images mapped: \(images)")
    }

    @Test func loadsVersion2NextToVersion1() async throws {
        let v1 = try PluginLoader.load(path: PluginFixtures.chatHandlersV1)
        let v2 = try PluginLoader.load(path: try await PluginFixtures.chatHandlersV2.value)
        #expect(v2.version == "2.0.0")
        let old = try v1.factory.makeHandler(state: nil)
        let new = try v2.factory.makeHandler(state: nil)
        let payload = new.messagePayload(topic: "room:a", id: 1, user: "ann", body: "hi", timestamp: 5, clientID: nil, delivery: .live)
        #expect(payload["handler_version"] == .string("2.0.0"))
        #expect(old.messagePayload(topic: "room:a", id: 1, user: "ann", body: "hi", timestamp: 5, clientID: nil, delivery: .live)["handler_version"] == nil)
    }

    // MARK: Refusals: each has its own error and leaves the process able to load a good plugin.

    @Test func refusesAMissingFile() throws {
        let path = PluginFixtures.temporaryDirectory + "/nothing-here.so"
        #expect(throws: PluginLoadError.fileNotFound(path: path)) { try PluginLoader.load(path: path) }
        try expectStillHealthy()
    }

    @Test func refusesADirectory() throws {
        let path = PluginFixtures.temporaryDirectory
        #expect(throws: PluginLoadError.notARegularFile(path: path)) { try PluginLoader.load(path: path) }
        try expectStillHealthy()
    }

    @Test func refusesATextFileNamedSo() throws {
        let path = try PluginFixtures.file(named: "libtext.so", contents: "this is not ELF\n")
        let error = try #require(throws: PluginLoadError.self) { try PluginLoader.load(path: path) }
        guard case .notASharedObject(let reported, let detail) = error else { Issue.record("got \(error)"); return }
        #expect(reported == path)
        #expect(!detail.isEmpty)
        #expect(error.check == "not_a_shared_object")
        try expectStillHealthy()
    }

    @Test func refusesASharedObjectWithoutEntryPoints() throws {
        let path = try PluginFixtures.cPlugin("")
        #expect(throws: PluginLoadError.notAHoldfastPlugin(path: path, missingSymbol: "holdfast_plugin_abi")) {
            try PluginLoader.load(path: path)
        }
        let zlib = "/lib/x86_64-linux-gnu/libz.so.1"
        if FileManager.default.fileExists(atPath: zlib) {
            #expect(throws: PluginLoadError.notAHoldfastPlugin(path: zlib, missingSymbol: "holdfast_plugin_abi")) {
                try PluginLoader.load(path: zlib)
            }
        }
        try expectStillHealthy()
    }

    @Test func refusesAPluginThatNeedsAMissingSymbol() throws {
        let path = try PluginFixtures.cPlugin("FAKE_STALE_ABI_SYMBOL")
        let error = try #require(throws: PluginLoadError.self) { try PluginLoader.load(path: path) }
        guard case .missingSymbol(_, let detail) = error else { Issue.record("got \(error)"); return }
        #expect(detail.contains("holdfast_handler_abi_0"))
        try expectStillHealthy()
    }

    @Test func refusesAWrongABINumber() throws {
        let path = try PluginFixtures.cPlugin("FAKE_WRONG_ABI")
        let error = try #require(throws: PluginLoadError.self) { try PluginLoader.load(path: path) }
        #expect(error == .abiMismatch(plugin: 999, host: handlerAPIVersion))
        #expect(error.description.contains("rebuild the plugin"))
        try expectStillHealthy()
    }

    @Test func refusesAWrongBuildTag() throws {
        let path = try PluginFixtures.cPlugin("FAKE_WRONG_TAG")
        #expect(throws: PluginLoadError.buildTagMismatch(plugin: "holdfast-handler-api=1;swift=5.0", host: PluginLoader.hostBuildTag)) {
            try PluginLoader.load(path: path)
        }
        try expectStillHealthy()
    }

    @Test func refusesAnEntryObjectThatIsNoFactory() async throws {
        let path = try await PluginFixtures.wrongEntry.value
        let error = try #require(throws: PluginLoadError.self) { try PluginLoader.load(path: path) }
        guard case .wrongEntryType(_, let found) = error else { Issue.record("got \(error)"); return }
        #expect(found.contains("NotAFactory"))
        try expectStillHealthy()
    }

    private func expectStillHealthy() throws {
        let plugin = try PluginLoader.load(path: PluginFixtures.chatHandlersV1)
        let handler = try plugin.factory.makeHandler(state: nil)
        #expect(handler.validateMessage(topic: "room:a", user: "ann", body: "ok") == nil)
        // A conformance lookup never seen before still works (no image was unmapped).
        struct NeverSeenBefore {}
        #expect((NeverSeenBefore() as Any as? any CustomStringConvertible) == nil)
    }
}
