import HoldfastBytes
import HoldfastChannels
import HoldfastPresence
import HoldfastRooms

/// The handoff streams (``HoldfastCore/HandoffWriter``, each ended by END); the first byte of a record names its
/// kind.
///
/// 1. **Staging**, sent while the old process still serves: one record per listening socket and one per
///    connection (a copy of its state as it was then, keyed by the old process's fd number), each with its fd,
///    and each room's presence. The new process builds everything from it and answers STAGED.
/// 2. **Catch-up** rounds, still serving: the connections that changed since the previous round and the keys of
///    those closed since (the same records as in the final stream), answered STAGED again.
/// 3. **Final**, sent during the pause: the ``HandoffHeader``, a record for each connection whose state changed
///    since it was staged (or that was not staged; that one carries its fd), the keys of the staged connections
///    closed meanwhile, and one record per room (with its presence only if that changed since staging).
///
/// So the pause costs in proportion to what changed, not to how many connections there are.
enum HandoffFormat {
    /// Bumped whenever a record layout changes; a new binary refuses a stream it cannot read, and the old one
    /// rolls back.
    static let version: UInt64 = 1
    static let headerRecord: UInt8 = 0x48  // "H"
    static let listenerRecord: UInt8 = 0x4C  // "L"
    static let connectionRecord: UInt8 = 0x43  // "C"
    static let roomRecord: UInt8 = 0x52  // "R"
    static let stagedConnectionRecord: UInt8 = 0x53  // "S"
    static let finalConnectionRecord: UInt8 = 0x46  // "F"
    static let closedKeysRecord: UInt8 = 0x4B  // "K"
    static let stagedRoomRecord: UInt8 = 0x72  // "r"
}

/// A connection's snapshot framed with its key (the old process's fd number, unique among its open connections
/// for the whole upgrade, since no connection is accepted meanwhile).
enum KeyedConnectionRecord {
    static func encode(kind: UInt8, key: Int32, snapshot: [UInt8]) -> [UInt8] {
        var out = ByteWriter(capacity: snapshot.count + 8)
        out.byte(kind)
        out.signed(Int64(key))
        var bytes = out.bytes
        bytes += snapshot
        return bytes
    }

    static func decode(_ bytes: [UInt8]) throws(ByteReadError) -> (key: Int32, snapshot: ConnectionSnapshot) {
        var input = ByteReader(bytes)
        _ = try input.byte()
        guard let key = Int32(exactly: try input.signed()) else { throw ByteReadError.invalid("bad connection key") }
        return (key, try ConnectionSnapshot(decoding: Array(bytes[input.offset...])))
    }
}

/// The keys of the staged connections the old process closed before the pause.
enum ClosedKeysRecord {
    static func encode(_ keys: [Int32]) -> [UInt8] {
        var out = ByteWriter(capacity: 8 + keys.count * 3)
        out.byte(HandoffFormat.closedKeysRecord)
        out.unsigned(UInt64(keys.count))
        for key in keys { out.signed(Int64(key)) }
        return out.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(ByteReadError) -> Set<Int32> {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.closedKeysRecord else { throw ByteReadError.invalid("not a key list") }
        var keys = Set<Int32>()
        for _ in 0..<(try input.unsigned()) {
            guard let key = Int32(exactly: try input.signed()) else { throw ByteReadError.invalid("bad connection key") }
            keys.insert(key)
        }
        try input.expectEnd()
        return keys
    }
}

/// What the whole process hands over besides sockets and rooms.
struct HandoffHeader: Sendable, Equatable {
    /// The old process, for the log and the upgrade record.
    var pid: Int32
    var binaryVersion: String
    /// The next Phoenix connection id: ids stay unique across the two processes (presence owners, members).
    var nextConnectionID: UInt64
    /// The handler plugins in the old process's rollback chain, oldest first; the last one is current.
    var handlerChain: [String]
    /// The current handler's version and exported state (the new process migrates it if its code differs).
    var handlerVersion: String
    var handlerState: [UInt8]

    func encode() -> [UInt8] {
        var out = ByteWriter(capacity: 64 + handlerState.count)
        out.byte(HandoffFormat.headerRecord)
        out.unsigned(HandoffFormat.version)
        out.signed(Int64(pid))
        out.string(binaryVersion)
        out.unsigned(nextConnectionID)
        out.unsigned(UInt64(handlerChain.count))
        for path in handlerChain { out.string(path) }
        out.string(handlerVersion)
        out.data(handlerState)
        return out.bytes
    }

    init(pid: Int32, binaryVersion: String, nextConnectionID: UInt64, handlerChain: [String], handlerVersion: String, handlerState: [UInt8]) {
        self.pid = pid
        self.binaryVersion = binaryVersion
        self.nextConnectionID = nextConnectionID
        self.handlerChain = handlerChain
        self.handlerVersion = handlerVersion
        self.handlerState = handlerState
    }

    init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.headerRecord else { throw ByteReadError.invalid("the stream does not start with a header") }
        let version = try input.unsigned()
        guard version == HandoffFormat.version else {
            throw ByteReadError.invalid("handoff format \(version), this binary reads \(HandoffFormat.version)")
        }
        guard let pid = Int32(exactly: try input.signed()) else { throw ByteReadError.invalid("bad pid") }
        self.pid = pid
        binaryVersion = try input.string()
        nextConnectionID = try input.unsigned()
        var chain: [String] = []
        for _ in 0..<(try input.unsigned()) { chain.append(try input.string()) }
        handlerChain = chain
        handlerVersion = try input.string()
        handlerState = try input.data()
        try input.expectEnd()
    }
}

/// A listening socket: which listener it is and which loop served it.
struct ListenerSnapshot: Sendable, Equatable {
    enum Kind: UInt8, Sendable { case plain = 0, tls, admin }
    var kind: Kind
    var loopIndex: Int

    func encode() -> [UInt8] {
        var out = ByteWriter(capacity: 8)
        out.byte(HandoffFormat.listenerRecord)
        out.byte(kind.rawValue)
        out.int(loopIndex)
        return out.bytes
    }

    init(kind: Kind, loopIndex: Int) {
        self.kind = kind
        self.loopIndex = loopIndex
    }

    init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.listenerRecord else { throw ByteReadError.invalid("not a listener record") }
        guard let kind = Kind(rawValue: try input.byte()) else { throw ByteReadError.invalid("unknown listener kind") }
        self.kind = kind
        loopIndex = try input.int()
        try input.expectEnd()
    }
}

extension StagedRoom {
    func encode() -> [UInt8] {
        var presenceBytes: [UInt8] = []
        presence.encode(into: &presenceBytes)
        var out = ByteWriter(capacity: 32 + presenceBytes.count)
        out.byte(HandoffFormat.stagedRoomRecord)
        out.string(topic)
        out.unsigned(presenceGeneration)
        out.data(presenceBytes)
        return out.bytes
    }

    init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.stagedRoomRecord else { throw ByteReadError.invalid("not a staged room") }
        let topic = try input.string()
        let generation = try input.unsigned()
        let presence = try decodePresence(try input.data(), topic: topic)
        try input.expectEnd()
        self.init(topic: topic, presenceGeneration: generation, presence: presence)
    }
}

private func decodePresence(_ bytes: [UInt8], topic: String) throws(ByteReadError) -> PresenceSnapshot {
    do {
        return try PresenceSnapshot(decoding: bytes)
    } catch {
        throw ByteReadError.invalid("presence of \(topic): \(error)")
    }
}

extension RoomSnapshot {
    func encode() -> [UInt8] {
        var presenceBytes: [UInt8]?
        if let presence {
            var bytes: [UInt8] = []
            presence.encode(into: &bytes)
            presenceBytes = bytes
        }
        var out = ByteWriter(capacity: 64 + (presenceBytes?.count ?? 0) + awaitingState.count * 4)
        out.byte(HandoffFormat.roomRecord)
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
            out.optionalString(item.ref)
        }
        return out.bytes
    }

    init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.roomRecord else { throw ByteReadError.invalid("not a room record") }
        let topic = try input.string()
        let lastID = try input.signed()
        let presence = try input.optionalData().map { (bytes) throws(ByteReadError) in
            try decodePresence(bytes, topic: topic)
        }
        var awaiting: [UInt64] = []
        for _ in 0..<(try input.count()) { awaiting.append(try input.unsigned()) }
        var pending: [PendingMessage] = []
        for _ in 0..<(try input.count()) {
            let message = ChatMessage(
                id: try input.signed(), user: try input.string(), body: try input.string(),
                timestamp: try input.signed(), clientID: try input.optionalString())
            pending.append(PendingMessage(message: message, senderConnectionID: try input.unsigned(), ref: try input.optionalString()))
        }
        try input.expectEnd()
        self.init(topic: topic, lastID: lastID, presence: presence, awaitingState: awaiting, pending: pending)
    }
}
