public import HoldfastBytes
import HoldfastJSON
import HoldfastPresence
public import HoldfastRooms

extension StagedRoom {
    /// The record: ``HandoffFormat/stagedRoomRecord`` (the presence only, as every build reads it) or, `withValues`,
    /// ``HandoffFormat/stagedRoomValuesRecord`` (with the assigns, sorted by member, and the authors).
    public func encode(withValues: Bool = false) -> [UInt8] {
        var presenceBytes: [UInt8] = []
        presence.encode(into: &presenceBytes)
        var out = ByteWriter(capacity: 32 + presenceBytes.count)
        out.byte(withValues ? HandoffFormat.stagedRoomValuesRecord : HandoffFormat.stagedRoomRecord)
        out.string(topic)
        out.unsigned(presenceGeneration)
        out.data(presenceBytes)
        guard withValues else { return out.bytes }
        out.unsigned(UInt64(assigns.count))
        for id in assigns.keys.sorted() {
            out.unsigned(id)
            out.data(JSON.encode(assigns[id] ?? .null))
        }
        encodeAuthors(authors.entries, into: &out)
        return out.bytes
    }

    /// Reads a staged room record of either kind.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        let kind = try input.byte()
        guard kind == HandoffFormat.stagedRoomRecord || kind == HandoffFormat.stagedRoomValuesRecord else {
            throw ByteReadError.invalid("not a staged room")
        }
        let topic = try input.string()
        let generation = try input.unsigned()
        let presence = try decodePresence(try input.data(), topic: topic)
        self.init(topic: topic, presenceGeneration: generation, presence: presence)
        if kind == HandoffFormat.stagedRoomValuesRecord {
            for _ in 0..<(try input.count(minimumSize: 2)) {
                let id = try input.unsigned()
                guard assigns.updateValue(try parseValue(try input.data()), forKey: id) == nil else {
                    throw ByteReadError.invalid("assigns of \(topic): member \(id) twice")
                }
            }
            authors = MessageAuthors(entries: try decodeAuthors(&input))
        }
        try input.expectEnd()
    }
}

/// Message authors, oldest first.
func encodeAuthors(_ entries: [(id: Int64, user: String)], into out: inout ByteWriter) {
    out.unsigned(UInt64(entries.count))
    for entry in entries {
        out.signed(entry.id)
        out.string(entry.user)
    }
}

/// Reads what ``encodeAuthors(_:into:)`` wrote.
func decodeAuthors(_ input: inout ByteReader) throws(ByteReadError) -> [(id: Int64, user: String)] {
    var entries: [(id: Int64, user: String)] = []
    for _ in 0..<(try input.count(minimumSize: 2)) { entries.append((try input.signed(), try input.string())) }
    return entries
}

extension RoomSnapshot {
    /// The record (``HandoffFormat/roomRecord``).
    public func encode() -> [UInt8] {
        var out = ByteWriter(capacity: 64 + awaitingState.count * 4)
        encodeHead(kind: HandoffFormat.roomRecord, into: &out)
        // A trailing section, only for rooms whose handler keeps values: other rooms' records stay byte for byte
        // those of builds without channel handlers, so upgrades between such builds work both ways. Format 2 adds
        // a second one after it (with an empty handler section before it if need be): edit and delete entries
        // among the pending messages, and the recent messages' authors.
        let historySection = pending.contains { $0.message.kind != .message } || !authors.order.isEmpty
        if let handler = handler ?? (historySection ? HandlerValues.none : nil) {
            out.string(handler.version)
            out.data(JSON.encode(handler.state))
            out.unsigned(UInt64(handler.assigns.count))
            for (id, assigns) in handler.assigns {
                out.unsigned(id)
                out.data(JSON.encode(assigns))
            }
            encodeTimers(handler.timers, into: &out)
        }
        if historySection {
            encodeKinds(into: &out)
            encodeAuthors(authors.entries, into: &out)
        }
        return out.bytes
    }

    /// Topic, numbering, presence, the joiners awaiting `presence_state` and the pending messages: the part every
    /// room record starts with after its kind.
    func encodeHead(kind: UInt8, into out: inout ByteWriter) {
        var presenceBytes: [UInt8]?
        if let presence {
            var bytes: [UInt8] = []
            presence.encode(into: &bytes)
            presenceBytes = bytes
        }
        out.byte(kind)
        out.string(topic)
        out.signed(lastID)
        out.optionalData(presenceBytes)
        out.unsigned(UInt64(awaitingState.count))
        for id in awaitingState { out.unsigned(id) }
        out.unsigned(UInt64(pending.count))
        for item in pending {
            out.signed(item.message.id)
            out.string(item.message.user)
            out.string(item.message.body)
            out.signed(item.message.timestamp)
            out.optionalString(item.message.clientID)
            out.unsigned(item.senderConnectionID)
            // A server API message (sender 0) has no ref: its slot carries the ticket, so the layout is unchanged.
            out.optionalString(item.senderConnectionID == 0 ? item.ticket.map { String($0) } : item.ref)
        }
    }

    /// The timers of a handler section.
    func encodeTimers(_ timers: [HandlerTimer], into out: inout ByteWriter) {
        out.unsigned(UInt64(timers.count))
        for timer in timers {
            out.signed(timer.due)
            out.string(timer.tag)
        }
    }

    /// The edit and delete entries among the pending messages, by index.
    func encodeKinds(into out: inout ByteWriter) {
        let kinds = pending.enumerated().filter { $0.element.message.kind != .message }
        out.unsigned(UInt64(kinds.count))
        for (index, item) in kinds {
            out.unsigned(UInt64(index))
            out.byte(item.message.kind.rawValue)
            out.signed(item.message.target)
        }
    }

    /// Reads a room record.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.roomRecord else { throw ByteReadError.invalid("not a room record") }
        self = try Self.decodeHead(&input)
        if !input.isAtEnd {
            let version = try input.string()
            let state = try parseValue(try input.data())
            var assigns: [UInt64: JSONValue] = [:]
            for _ in 0..<(try input.count()) { assigns[try input.unsigned()] = try parseValue(try input.data()) }
            handler = HandlerValues(
                version: version, state: state, assigns: assigns, timers: try Self.decodeTimers(&input))
            if handler == HandlerValues.none { handler = nil }
        }
        if !input.isAtEnd {
            try decodeKinds(&input)
            authors = MessageAuthors(entries: try decodeAuthors(&input))
        }
        try input.expectEnd()
    }

    /// Reads what ``encodeHead(kind:into:)`` wrote after the kind.
    static func decodeHead(_ input: inout ByteReader) throws(ByteReadError) -> RoomSnapshot {
        let topic = try input.string()
        let lastID = try input.signed()
        let presence = try input.optionalData().map { (bytes) throws(ByteReadError) in
            try decodePresence(bytes, topic: topic)
        }
        var awaiting: [UInt64] = []
        // Counts are bounded by the bytes left (each item takes at least one), so damage cannot size a loop.
        for _ in 0..<(try input.count()) { awaiting.append(try input.unsigned()) }
        var pending: [PendingMessage] = []
        for _ in 0..<(try input.count()) {
            let message = ChatMessage(
                id: try input.signed(), user: try input.string(), body: try input.string(),
                timestamp: try input.signed(), clientID: try input.optionalString())
            let sender = try input.unsigned()
            let ref = try input.optionalString()
            if sender == 0 {
                pending.append(PendingMessage(
                    message: message, senderConnectionID: 0, ref: nil, ticket: ref.flatMap { UInt64($0) }))
            } else {
                pending.append(PendingMessage(message: message, senderConnectionID: sender, ref: ref))
            }
        }
        return RoomSnapshot(topic: topic, lastID: lastID, presence: presence, awaitingState: awaiting, pending: pending)
    }

    /// Reads the timers of a handler section.
    static func decodeTimers(_ input: inout ByteReader) throws(ByteReadError) -> [HandlerTimer] {
        var timers: [HandlerTimer] = []
        for _ in 0..<(try input.count()) {
            timers.append(HandlerTimer(due: try input.signed(), tag: try input.string()))
        }
        return timers
    }

    /// Reads the edit and delete entries into the pending messages.
    mutating func decodeKinds(_ input: inout ByteReader) throws(ByteReadError) {
        for _ in 0..<(try input.count()) {
            let index = Int(try input.unsigned())
            guard pending.indices.contains(index), let kind = ChatMessage.Kind(rawValue: try input.byte()) else {
                throw ByteReadError.invalid("history entry kind of \(topic)")
            }
            pending[index].message.kind = kind
            pending[index].message.target = try input.signed()
        }
    }
}

/// A handler value carried as JSON text.
func parseValue(_ bytes: [UInt8]) throws(ByteReadError) -> JSONValue {
    do { return try JSON.parse(bytes) } catch { throw ByteReadError.invalid("handler value: \(error)") }
}

/// A room's presence bytes, with the topic in the error.
func decodePresence(_ bytes: [UInt8], topic: String) throws(ByteReadError) -> PresenceSnapshot {
    do {
        return try PresenceSnapshot(decoding: bytes)
    } catch {
        throw ByteReadError.invalid("presence of \(topic): \(error)")
    }
}

extension HandlerValues {
    /// The empty handler section written before format 2's history section when the room keeps no handler values.
    static let none = HandlerValues(version: "", state: .null, assigns: [:], timers: [])
}
