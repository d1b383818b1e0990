// A channel handler (API 2) whose handleIn spins for as long as the payload asks, for the call-budget test
// (test_handler_plugins.py): `spin` `{"ms": N}` busy-waits N milliseconds on the room's thread, then replies ok.
// Joins of `room:*` are allowed with an empty meta; every other event is unknown.
// Built by the tests with swiftc against the server's HoldfastHandlerAPI.
import HoldfastHandlerAPI

let slowVersion = "1.0.0-slow"

final class SlowFactory: HandlerFactory {
    var pluginVersion: String { slowVersion }

    func makeHandler(state: [UInt8]?) throws -> any RoomHandler { SlowHandler() }

    func migrate(fromVersion: String, state: [UInt8]) throws -> [UInt8] { [] }
}

final class SlowHandler: ChannelHandler {
    var version: String { slowVersion }
    var topicPattern: String { "room:*" }

    func join(topic: String, user: String, params: HandlerValue, context: inout ChannelContext) -> ChannelJoinResult {
        .allow(reply: .null, presenceMeta: nil, assigns: .null)
    }

    func handleIn(event: String, payload: HandlerValue, context: inout ChannelContext) -> [ChannelAction] {
        guard event == "spin", let milliseconds = payload["ms"]?.intValue else {
            return [.reply(status: "error", payload: .reason("unknown event"))]
        }
        // A busy wait, as a handler doing too much work would: the host can only measure it afterwards.
        let clock = ContinuousClock()
        let end = clock.now + .milliseconds(milliseconds)
        var spins: UInt64 = 0
        while clock.now < end { spins &+= 1 }
        let count = HandlerValue.int(Int64(truncatingIfNeeded: spins))
        return [.reply(status: "ok", payload: .object([HandlerMember("spins", count)]))]
    }

    func exportState() -> [UInt8] { [] }
}

@_cdecl("holdfast_plugin_abi") public func holdfastPluginABI() -> Int32 { HoldfastPluginExport.abi() }
@_cdecl("holdfast_plugin_build_tag") public func holdfastPluginBuildTag() -> UnsafePointer<CChar> { HoldfastPluginExport.buildTag() }
@_cdecl("holdfast_plugin_factory") public func holdfastPluginFactory() -> UnsafeMutableRawPointer { HoldfastPluginExport.factory(SlowFactory()) }
