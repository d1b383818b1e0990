// # HoldfastWebhooks
//
// Events posted to the application's backend: rooms occupied and vacated, members added and removed (per user,
// not per device), optionally every stored chat message.
//
// Lifecycle: rooms call ``WebhookDispatcher/record(_:)`` from their loops; every `batch_ms` the events recorded
// meanwhile become one JSON batch, appended to a bounded on-disk queue per URL in the state dir; one delivery
// thread per URL posts the batches in order, signed (``WebhookSigner``), and drops a batch from the queue only
// after a 2xx answer. Retries back off exponentially. The queue files belong to the process that holds
// `webhooks.lock` (flock): after a binary upgrade the new process takes them over when the old one exits, and a
// restart reopens them, so queued batches survive both.
//
// Errors: a receiver that is down or answers non-2xx is retried forever (the queue's size bound drops the
// oldest batches, logged); an unwritable state dir is logged and the batches stay in memory.
//
// Performance: recording is one short lock per event; encoding, disk and network are on the batcher and
// delivery threads, never on an event loop.

public import HoldfastJSON

/// One thing that happened, as a webhook batch lists it.
public struct WebhookEvent: Sendable, Equatable {
    /// `room_occupied`, `room_vacated`, `member_added`, `member_removed` or `client_message`.
    public var name: String
    /// The room.
    public var topic: String
    /// The member (member events and messages).
    public var user: String?
    /// When it happened, ms since the Unix epoch.
    public var timeMilliseconds: Int64
    /// Extra members of the event (a message's `id`, `body`, ...).
    public var extra: [JSONMember]

    public init(name: String, topic: String, user: String? = nil, timeMilliseconds: Int64, extra: [JSONMember] = []) {
        self.name = name
        self.topic = topic
        self.user = user
        self.timeMilliseconds = timeMilliseconds
        self.extra = extra
    }

    /// `{"name", "topic", "user_id"?, "time_ms", ...extra}`.
    public var json: JSONValue {
        var members = [JSONMember("name", .string(name)), JSONMember("topic", .string(topic))]
        if let user { members.append(JSONMember("user_id", .string(user))) }
        members.append(JSONMember("time_ms", .integer(timeMilliseconds)))
        members += extra
        return .object(members)
    }
}

/// Gathers events into batches: pure, the caller says when a batch is due.
public struct WebhookBatcher: Sendable {
    private(set) var events: [WebhookEvent] = []

    public init() {}

    /// Adds an event to the open batch.
    public mutating func add(_ event: WebhookEvent) { events.append(event) }

    /// Whether the open batch holds anything.
    public var isEmpty: Bool { events.isEmpty }

    /// Closes the open batch: `{"time_ms": now, "events": [...]}` in recording order, or nil when empty.
    public mutating func takeBatch(nowMilliseconds: Int64) -> [UInt8]? {
        guard !events.isEmpty else { return nil }
        let body = JSONValue.object([
            JSONMember("time_ms", .integer(nowMilliseconds)), JSONMember("events", .array(events.map(\.json))),
        ])
        events.removeAll(keepingCapacity: true)
        return JSON.encode(body)
    }
}
