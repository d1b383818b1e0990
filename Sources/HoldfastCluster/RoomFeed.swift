public import HoldfastRooms

/// Exactly once and in order: a room's messages as its node delivers them, from the bus and from the Stream.
///
/// The bus (pub/sub) loses what is published while a node is not subscribed (before a subscription is confirmed,
/// during a Redis outage), and a node's subscription may confirm after some messages went by. The Stream holds
/// every message by id. So: a message with the next id is delivered; one at or below the last delivered id is a
/// duplicate and dropped; one further ahead means a gap: it is held, and the Stream is read from the last
/// delivered id (``Step/fetch(after:)``). After each subscription confirmation the Stream is read too. What the
/// Stream does not have (a message whose script failed half-way, trimmed history, a Redis that lost its data) is
/// skipped: the held messages go out after the read.
///
/// A pure value: the caller performs the reads and reports their results.
public struct RoomFeed: Sendable, Equatable {
    /// What the caller does next.
    public enum Step: Sendable, Equatable {
        /// Deliver these messages to the members, in this order.
        case deliver([ChatMessage])
        /// Read the Stream after this id and report with ``RoomFeed/fetched(_:full:)`` (or ``fetchFailed()``).
        case fetch(after: Int64)
    }

    /// The highest id delivered.
    public private(set) var lastDelivered: Int64
    /// A Stream read is in flight.
    public private(set) var fetching = false
    /// Messages that arrived ahead of a gap or during a read, by id.
    private var held: [Int64: ChatMessage] = [:]
    /// A subscription confirmed while a read was in flight: read again after it.
    private var readAgain = false

    public init(lastDelivered: Int64) { self.lastDelivered = lastDelivered }

    /// Messages held, waiting for a read (for tests and status).
    public var heldCount: Int { held.count }

    /// The last delivered id moves up to `id` without delivering (a baseline read when members arrive).
    public mutating func advance(to id: Int64) { lastDelivered = max(lastDelivered, id) }

    /// A message from the bus.
    public mutating func received(_ message: ChatMessage) -> [Step] {
        guard message.id > lastDelivered else { return [] }
        if fetching {
            held[message.id] = message
            return []
        }
        if message.id == lastDelivered + 1 {
            lastDelivered = message.id
            return [.deliver([message])]
        }
        held[message.id] = message
        fetching = true
        return [.fetch(after: lastDelivered)]
    }

    /// The subscription was confirmed (first time or after a reconnect): what was published before is in the
    /// Stream only.
    public mutating func subscribed() -> [Step] {
        if fetching {
            readAgain = true
            return []
        }
        fetching = true
        return [.fetch(after: lastDelivered)]
    }

    /// The read's entries in id order; `full`: it hit its count limit, so there may be more.
    public mutating func fetched(_ messages: [ChatMessage], full: Bool) -> [Step] {
        var out: [ChatMessage] = []
        for message in messages where message.id > lastDelivered {
            held.removeValue(forKey: message.id)
            out.append(message)
            lastDelivered = message.id
        }
        if full || readAgain {
            readAgain = false
            return out.isEmpty ? [.fetch(after: lastDelivered)] : [.deliver(out), .fetch(after: lastDelivered)]
        }
        fetching = false
        // What the Stream lacks is gone: the held messages follow in order.
        for id in held.keys.sorted() where id > lastDelivered {
            if let message = held[id] { out.append(message) }
            lastDelivered = id
        }
        held.removeAll()
        return out.isEmpty ? [] : [.deliver(out)]
    }

    /// The read failed (Redis is away): deliver what is held rather than stall; the next subscription
    /// confirmation reads again.
    public mutating func fetchFailed() -> [Step] { fetched([], full: false) }
}
