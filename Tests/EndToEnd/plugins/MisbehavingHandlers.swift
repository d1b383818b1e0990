// A chat handler plugin that misbehaves on request, for the handler-swap fault tests (test_swap_faults.py).
//
// It serves like the default handlers 1.0.0 (same state format, so it migrates from and downgrades to 1.0.0
// unchanged), and tags every new_msg with "handler_version": "9.0.0-misbehaving". At each hook it reads the file
// named by HOLDFAST_TEST_PLUGIN_FAULT_FILE; a line `<hook>:<action>` there makes that hook misbehave:
//
//   hooks:   migrate, downgrade, make_handler, export_state
//   actions: throw (not for export_state, which cannot), trap (fatalError), hang (until the line is gone),
//            hang-in-server (hangs like hang, except in the `holdfast validate-plugin` rehearsal process, where it
//            behaves: a plugin whose hang its rehearsal cannot see)
//
// The file is read at every call, so a test can arm and clear a fault on a running server.
// Built by the tests with swiftc against the server's HoldfastHandlerAPI.
import Glibc
import HoldfastHandlerAPI
import Synchronization

let misbehavingVersion = "9.0.0-misbehaving"

struct MisbehavingError: Error, CustomStringConvertible {
    let description: String
}

/// The fault the file asks of `hook`, re-read at every call.
func armedAction(_ hook: String) -> String? {
    guard let path = getenv("HOLDFAST_TEST_PLUGIN_FAULT_FILE") else { return nil }
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return nil }
    let text = String(decoding: buffer[..<count], as: UTF8.self)
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        if parts.count == 2, parts[0] == hook { return String(parts[1]).trimmingCharacters() }
    }
    return nil
}

func misbehave(_ hook: String) throws {
    guard let action = armedAction(hook) else { return }
    let rehearsal = CommandLine.arguments.contains("validate-plugin")
    switch action {
    case "throw":
        throw MisbehavingError(description: "\(hook) throws on purpose")
    case "trap":
        fatalError("\(hook) traps on purpose")
    case "hang":
        hang(hook, while: action)
    case "hang-in-server" where !rehearsal:
        hang(hook, while: action)
    default:
        return
    }
}

/// Sleeps rather than spins (the machine is shared); returns once the fault is cleared.
func hang(_ hook: String, while action: String) {
    while armedAction(hook) == action { usleep(20_000) }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " || $0 == "\r" }.reversed())
    }
}

/// The 1.0.0 state format: format byte 1, room count, then (topic, count) per room.
enum CounterState {
    static func encode(_ counters: [String: Int64]) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 8 + counters.count * 24)
        writer.write(UInt8(1))
        writer.write(UInt64(counters.count))
        for (topic, count) in counters.sorted(by: { $0.key < $1.key }) {
            writer.write(topic)
            writer.write(count)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> [String: Int64] {
        var reader = BinaryReader(bytes)
        guard try reader.readByte() == 1 else { throw StateDecodingError(offset: 0, reason: "expected format 1") }
        let count = try reader.readCount(minimumSize: 2)
        var counters: [String: Int64] = [:]
        for _ in 0..<count {
            let topic = try reader.readString()
            counters[topic] = try reader.readInt64()
        }
        try reader.expectEnd()
        return counters
    }
}

final class MisbehavingFactory: HandlerFactory {
    var pluginVersion: String { misbehavingVersion }

    func makeHandler(state: [UInt8]?) throws -> any RoomHandler {
        try misbehave("make_handler")
        return MisbehavingHandler(counters: try state.map(CounterState.decode) ?? [:])
    }

    func migrate(fromVersion: String, state: [UInt8]) throws -> [UInt8] {
        try misbehave("migrate")
        guard fromVersion == "1.0.0" else {
            throw HandlerMigrationError.unsupportedVersion(from: fromVersion, to: misbehavingVersion)
        }
        return CounterState.encode(try CounterState.decode(state))
    }

    func downgrade(toVersion: String, state: [UInt8]) throws -> [UInt8] {
        try misbehave("downgrade")
        guard toVersion == "1.0.0" else {
            throw HandlerMigrationError.unsupportedVersion(from: misbehavingVersion, to: toVersion)
        }
        return CounterState.encode(try CounterState.decode(state))
    }
}

final class MisbehavingHandler: RoomHandler {
    private let counters: Mutex<[String: Int64]>

    init(counters: [String: Int64]) { self.counters = Mutex(counters) }

    var version: String { misbehavingVersion }

    func authorizeJoin(topic: String, user: String, payload: HandlerValue, now: Int64) -> HandlerJoinDecision {
        guard topic.hasPrefix("room:") else { return .deny(reason: "unknown topic") }
        let device = payload["device"]?.stringValue ?? "unknown"
        return .allow(
            presenceMeta: .object([HandlerMember("device", .string(device)), HandlerMember("online_at", .int(now))]))
    }

    func validateMessage(topic: String, user: String, body: String) -> String? {
        body.isEmpty ? "empty message" : nil
    }

    func messagePayload(
        topic: String, id: Int64, user: String, body: String, timestamp: Int64, clientID: HandlerValue?,
        delivery: MessageDelivery
    ) -> HandlerValue {
        if delivery == .live { counters.withLock { $0[topic, default: 0] += 1 } }
        var members = [
            HandlerMember("id", .int(id)), HandlerMember("user", .string(user)), HandlerMember("body", .string(body)),
            HandlerMember("ts", .int(timestamp)),
        ]
        if let clientID { members.append(HandlerMember("client_id", clientID)) }
        members.append(HandlerMember("handler_version", .string(misbehavingVersion)))
        return .object(members)
    }

    func exportState() -> [UInt8] {
        // exportState cannot throw: "throw" is not a fault it knows.
        try? misbehave("export_state")
        return counters.withLock { CounterState.encode($0) }
    }
}

@_cdecl("holdfast_plugin_abi") public func holdfastPluginABI() -> Int32 { HoldfastPluginExport.abi() }
@_cdecl("holdfast_plugin_build_tag") public func holdfastPluginBuildTag() -> UnsafePointer<CChar> {
    HoldfastPluginExport.buildTag()
}
@_cdecl("holdfast_plugin_factory") public func holdfastPluginFactory() -> UnsafeMutableRawPointer {
    HoldfastPluginExport.factory(MisbehavingFactory())
}
