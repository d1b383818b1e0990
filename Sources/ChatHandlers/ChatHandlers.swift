public import HoldfastHandlerAPI
import Synchronization

/// Holdfast's default chat handlers, version 1.0.0, built as `libChatHandlers.so` and loaded by the host.
///
/// Behaviour matches the server's built-in handler: joins of `room:*` topics with an object payload (an
/// optional integer `last_seen_id`), presence metas `{device, online_at}`, messages of 1 to 8 KiB, `new_msg`
/// payloads `{id, user, body, ts, client_id?}`. State: the number of messages stored per room since the
/// handlers were first started, carried across upgrades.
public final class ChatHandlersFactory: HandlerFactory {
    public static let version = "1.0.0"

    public init() {}

    public var pluginVersion: String { Self.version }

    public func makeHandler(state: [UInt8]?) throws -> any RoomHandler {
        guard let state else { return ChatRoomHandler(counters: [:]) }
        return ChatRoomHandler(counters: try ChatHandlersState.decode(state))
    }

    /// Only its own format: this is the first version.
    public func migrate(fromVersion: String, state: [UInt8]) throws -> [UInt8] {
        guard fromVersion == Self.version else {
            throw HandlerMigrationError.unsupportedVersion(from: fromVersion, to: Self.version)
        }
        _ = try ChatHandlersState.decode(state)
        return state
    }
}

/// The v1 state format: a format byte (1), the room count, then each room's topic and stored-message count.
enum ChatHandlersState {
    static let format: UInt8 = 1

    static func encode(_ counters: [String: Int64]) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 8 + counters.count * 24)
        writer.write(format)
        writer.write(UInt64(counters.count))
        for (topic, count) in counters {
            writer.write(topic)
            writer.write(count)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> [String: Int64] {
        var reader = BinaryReader(bytes)
        let found = try reader.readByte()
        guard found == format else { throw StateDecodingError(offset: 0, reason: "state format \(found), expected \(format)") }
        let count = try reader.readCount(minimumSize: 2)
        var counters: [String: Int64] = [:]
        counters.reserveCapacity(count)
        for _ in 0..<count {
            let topic = try reader.readString()
            counters[topic] = try reader.readInt64()
        }
        try reader.expectEnd()
        return counters
    }
}

/// The v1 handler: shared by every room of the process, so its counters sit behind a lock.
final class ChatRoomHandler: RoomHandler {
    /// Longest accepted message body, in bytes.
    let maxBodyBytes = 8 * 1024
    private let counters: Mutex<[String: Int64]>

    init(counters: [String: Int64]) {
        self.counters = Mutex(counters)
    }

    var version: String { ChatHandlersFactory.version }

    func authorizeJoin(topic: String, user: String, payload: HandlerValue, now: Int64) -> HandlerJoinDecision {
        guard topic.hasPrefix("room:"), topic.utf8.count > 5, topic.utf8.count <= 200 else {
            return .deny(reason: "unknown topic")
        }
        guard payload.objectMembers != nil else { return .deny(reason: "join payload must be an object") }
        if let lastSeen = payload["last_seen_id"], lastSeen != .null, lastSeen.intValue == nil {
            return .deny(reason: "last_seen_id must be an integer")
        }
        let device = payload["device"]?.stringValue ?? "unknown"
        return .allow(presenceMeta: .object([HandlerMember("device", .string(String(device.prefix(64)))),
                                             HandlerMember("online_at", .int(now))]))
    }

    func validateMessage(topic: String, user: String, body: String) -> String? {
        if body.isEmpty { return "empty message" }
        if body.utf8.count > maxBodyBytes { return "message too long" }
        return nil
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
        return .object(members)
    }

    func exportState() -> [UInt8] {
        counters.withLock { ChatHandlersState.encode($0) }
    }

    /// `{"rooms": {topic: messages, …}}`, rooms sorted by topic.
    func stateSummary() -> HandlerValue {
        let rooms = counters.withLock { $0 }.sorted { $0.key < $1.key }
        return .object([HandlerMember("rooms", .object(rooms.map { HandlerMember($0.key, .int($0.value)) }))])
    }
}
