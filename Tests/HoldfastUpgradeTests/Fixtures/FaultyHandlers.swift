// Deliberately broken Holdfast handler plugins for the loader and migration tests, compiled by the tests
// with swiftc and one of -D MIGRATE_THROWS, -D INIT_THROWS or -D WRONG_ENTRY.
import HoldfastHandlerAPI

struct FaultyError: Error, CustomStringConvertible {
    let description: String
}

final class FaultyHandler: RoomHandler {
    let version: String
    init(version: String) { self.version = version }
    func authorizeJoin(topic: String, user: String, payload: HandlerValue, now: Int64) -> HandlerJoinDecision {
        .deny(reason: "faulty")
    }
    func validateMessage(topic: String, user: String, body: String) -> String? { nil }
    func messagePayload(
        topic: String, id: Int64, user: String, body: String, timestamp: Int64, clientID: HandlerValue?,
        delivery: MessageDelivery
    ) -> HandlerValue { .null }
    func exportState() -> [UInt8] { [] }
}

final class FaultyFactory: HandlerFactory {
    #if MIGRATE_THROWS
    let pluginVersion = "9.0.0-migrate-throws"
    #else
    let pluginVersion = "9.0.0-init-throws"
    #endif

    func makeHandler(state: [UInt8]?) throws -> any RoomHandler {
        #if INIT_THROWS
        if state != nil { throw FaultyError(description: "init refuses every state by design") }
        #endif
        return FaultyHandler(version: pluginVersion)
    }

    func migrate(fromVersion: String, state: [UInt8]) throws -> [UInt8] {
        #if MIGRATE_THROWS
        throw HandlerMigrationError.invalidState("migration refuses by design")
        #else
        return state
        #endif
    }
}

/// Not a HandlerFactory: the host's cast must refuse it.
final class NotAFactory {}

@_cdecl("holdfast_plugin_abi") public func holdfastPluginABI() -> Int32 { HoldfastPluginExport.abi() }
@_cdecl("holdfast_plugin_build_tag") public func holdfastPluginBuildTag() -> UnsafePointer<CChar> { HoldfastPluginExport.buildTag() }
#if WRONG_ENTRY
@_cdecl("holdfast_plugin_factory") public func holdfastPluginFactory() -> UnsafeMutableRawPointer { Unmanaged.passRetained(NotAFactory()).toOpaque() }
#else
@_cdecl("holdfast_plugin_factory") public func holdfastPluginFactory() -> UnsafeMutableRawPointer { HoldfastPluginExport.factory(FaultyFactory()) }
#endif
