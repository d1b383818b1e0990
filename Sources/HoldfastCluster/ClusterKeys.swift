/// The Redis keys of a room. They share the hash tag `{topic}`, so a room stays on one Redis Cluster shard.
public struct ClusterKeys: Sendable, Equatable {
    /// `INCR`ed once per message: the room's ids.
    public let sequence: String
    /// The Stream of stored messages, entry id `0-N` for message N.
    public let log: String
    /// The pub/sub channel every node with members here subscribes to.
    public let bus: String

    public init(topic: String) {
        sequence = "hf:{\(topic)}:seq"
        log = "hf:{\(topic)}:log"
        bus = "hf:{\(topic)}:bus"
    }

    /// The topic of a bus channel name, or nil for another channel.
    public static func topic(ofBus channel: String) -> String? {
        guard channel.hasPrefix("hf:{"), channel.hasSuffix("}:bus") else { return nil }
        return String(channel.dropFirst(4).dropLast(5))
    }
}
