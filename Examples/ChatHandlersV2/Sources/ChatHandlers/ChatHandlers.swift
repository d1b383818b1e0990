public import HoldfastHandlerAPI
import Synchronization

/// Holdfast chat handlers 2.0.0.
///
/// Differences from 1.0.0: every `new_msg` payload carries `"handler_version": "2.0.0"`, and the per-room
/// state grew from a message count into ``RoomStats`` (count, last sender, time of the last message).
/// `migrate(fromVersion: "1.0.0", …)` converts 1.0.0 state; `downgrade(toVersion: "1.0.0", …)` converts back
/// for a rollback.
public final class ChatHandlersFactory: HandlerFactory {
    public static let version = "2.0.0"
    static let previousVersion = "1.0.0"

    public init() {}

    public var pluginVersion: String { Self.version }

    public func makeHandler(state: [UInt8]?) throws -> any RoomHandler {
        guard let state else { return ChatRoomHandler(rooms: [:]) }
        return ChatRoomHandler(rooms: try StateV2.decode(state))
    }

    public func migrate(fromVersion: String, state: [UInt8]) throws -> [UInt8] {
        switch fromVersion {
        case Self.version:
            _ = try StateV2.decode(state)
            return state
        case Self.previousVersion:
            let counters = try StateV1.decode(state)
            var rooms: [String: RoomStats] = [:]
            rooms.reserveCapacity(counters.count)
            for (topic, messages) in counters {
                guard messages >= 0 else { throw HandlerMigrationError.invalidState("negative message count in \(topic)") }
                rooms[topic] = RoomStats(messages: messages, lastUser: "", lastAt: 0)
            }
            return StateV2.encode(rooms)
        default:
            throw HandlerMigrationError.unsupportedVersion(from: fromVersion, to: Self.version)
        }
    }

    public func downgrade(toVersion: String, state: [UInt8]) throws -> [UInt8] {
        guard toVersion == Self.previousVersion else {
            throw HandlerMigrationError.unsupportedVersion(from: Self.version, to: toVersion)
        }
        return StateV1.encode(try StateV2.decode(state).mapValues(\.messages))
    }
}

/// What 2.0.0 keeps per room.
struct RoomStats: Sendable, Equatable {
    var messages: Int64
    /// Who sent the last message stored since 2.0.0 took over ("" when none yet).
    var lastUser: String
    /// Its timestamp in Unix milliseconds (0 when none yet).
    var lastAt: Int64
}

/// The 1.0.0 state format: format byte 1, room count, then (topic, count) per room.
enum StateV1 {
    static func encode(_ counters: [String: Int64]) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 8 + counters.count * 24)
        writer.write(UInt8(1))
        writer.write(UInt64(counters.count))
        for (topic, count) in counters {
            writer.write(topic)
            writer.write(count)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> [String: Int64] {
        var reader = BinaryReader(bytes)
        let format = try reader.readByte()
        guard format == 1 else { throw StateDecodingError(offset: 0, reason: "state format \(format), expected 1") }
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

/// The 2.0.0 state format: format byte 2, room count, then (topic, messages, lastUser, lastAt) per room.
enum StateV2 {
    static func encode(_ rooms: [String: RoomStats]) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 8 + rooms.count * 32)
        writer.write(UInt8(2))
        writer.write(UInt64(rooms.count))
        for (topic, stats) in rooms {
            writer.write(topic)
            writer.write(stats.messages)
            writer.write(stats.lastUser)
            writer.write(stats.lastAt)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> [String: RoomStats] {
        var reader = BinaryReader(bytes)
        let format = try reader.readByte()
        guard format == 2 else { throw StateDecodingError(offset: 0, reason: "state format \(format), expected 2") }
        let count = try reader.readCount(minimumSize: 4)
        var rooms: [String: RoomStats] = [:]
        rooms.reserveCapacity(count)
        for _ in 0..<count {
            let topic = try reader.readString()
            let messages = try reader.readInt64()
            let lastUser = try reader.readString()
            rooms[topic] = RoomStats(messages: messages, lastUser: lastUser, lastAt: try reader.readInt64())
        }
        try reader.expectEnd()
        return rooms
    }
}

/// The 2.0.0 handler, shared by every room of the process.
final class ChatRoomHandler: RoomHandler {
    let maxBodyBytes = 8 * 1024
    private let rooms: Mutex<[String: RoomStats]>

    init(rooms: [String: RoomStats]) {
        self.rooms = Mutex(rooms)
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
        if delivery == .live {
            rooms.withLock { rooms in
                var stats = rooms[topic] ?? RoomStats(messages: 0, lastUser: "", lastAt: 0)
                stats.messages += 1
                stats.lastUser = user
                stats.lastAt = timestamp
                rooms[topic] = stats
            }
        }
        var members = [
            HandlerMember("id", .int(id)), HandlerMember("user", .string(user)), HandlerMember("body", .string(body)),
            HandlerMember("ts", .int(timestamp)),
        ]
        if let clientID { members.append(HandlerMember("client_id", clientID)) }
        members.append(HandlerMember("handler_version", .string(ChatHandlersFactory.version)))
        return .object(members)
    }

    func exportState() -> [UInt8] {
        rooms.withLock { StateV2.encode($0) }
    }

    /// `{"rooms": {topic: {messages, last_user, last_at}, …}}`, rooms sorted by topic.
    func stateSummary() -> HandlerValue {
        let sorted = rooms.withLock { $0 }.sorted { $0.key < $1.key }
        return .object([HandlerMember("rooms", .object(sorted.map { topic, stats in
            HandlerMember(topic, .object([
                HandlerMember("messages", .int(stats.messages)), HandlerMember("last_user", .string(stats.lastUser)),
                HandlerMember("last_at", .int(stats.lastAt)),
            ]))
        }))])
    }
}
