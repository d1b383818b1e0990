import HoldfastHandlerAPI

/// What the moderation handlers count per room, process-wide: messages stored (as the built-in handlers count
/// them), messages blocked by the word filter, and kicks.
public struct RoomCounts: Sendable, Equatable {
    public var messages: Int64
    public var blocked: Int64
    public var kicks: Int64

    public init(messages: Int64 = 0, blocked: Int64 = 0, kicks: Int64 = 0) {
        self.messages = messages
        self.blocked = blocked
        self.kicks = kicks
    }
}

/// The built-in chat handlers' (1.0.0) state format: format byte 1, room count, then (topic, messages) per room.
enum BuiltInState {
    static let version = "1.0.0"

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
        let format = try reader.readByte()
        guard format == 1 else { throw StateDecodingError(offset: 0, reason: "state format \(format), expected 1") }
        var counters: [String: Int64] = [:]
        for _ in 0..<(try reader.readCount(minimumSize: 2)) {
            counters[try reader.readString()] = try reader.readInt64()
        }
        try reader.expectEnd()
        return counters
    }
}

/// This plugin's state format: format byte 0x4D ("M"), room count, then (topic, messages, blocked, kicks) per room.
enum ModerationState {
    static let format: UInt8 = 0x4D

    static func encode(_ rooms: [String: RoomCounts]) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 8 + rooms.count * 32)
        writer.write(format)
        writer.write(UInt64(rooms.count))
        for (topic, counts) in rooms.sorted(by: { $0.key < $1.key }) {
            writer.write(topic)
            writer.write(counts.messages)
            writer.write(counts.blocked)
            writer.write(counts.kicks)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> [String: RoomCounts] {
        var reader = BinaryReader(bytes)
        let found = try reader.readByte()
        guard found == format else {
            throw StateDecodingError(offset: 0, reason: "state format \(found), expected \(format)")
        }
        var rooms: [String: RoomCounts] = [:]
        for _ in 0..<(try reader.readCount(minimumSize: 4)) {
            let topic = try reader.readString()
            rooms[topic] = RoomCounts(
                messages: try reader.readInt64(), blocked: try reader.readInt64(), kicks: try reader.readInt64())
        }
        try reader.expectEnd()
        return rooms
    }
}
