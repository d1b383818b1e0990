public import HoldfastJSON
import HoldfastPresence
import HoldfastRedis

/// One room's presence across the cluster: this node's entries (the room's local truth, from its coalesced
/// diffs) merged with every other node's (from the room's Redis hash and its bus), as Phoenix shows it: one key,
/// one meta per device, whatever node the device is on.
///
/// A pure state machine: each event returns the ``ClusterPresenceAction``s to perform. Remote changes reach local
/// members as `presence_diff`s coalesced over `windowMilliseconds` (``PresenceDiffCoalescer``); local changes do
/// not, because the room already sent them to its members. Reads of the hash (the first seed, a resync after an
/// outage) buffer the bus messages that arrive meanwhile and replay them over the read, so a message published
/// after the read but received before its reply is not undone by it.
///
/// Reads complete in the order they were sent, on one connection; only a rewrite retried after `NOSCRIPT` can be
/// overtaken by a later read, which then merely swaps which of the two reports by diff and which by state.
///
/// Thread ownership: a value; the room's loop owns it.
public struct ClusterPresence: Sendable {
    /// An entry with its place in the view's order.
    struct Slot: Sendable {
        var entry: ClusterPresenceEntry
        var sequence: UInt64
    }

    /// A remote field changed since the last diff, with what local members last saw under it.
    struct Change: Sendable {
        var field: String
        var before: ClusterPresenceEntry?
    }

    /// The room (topic).
    public let room: String
    /// This node's name.
    public let node: String
    /// `hf:{room}:presence`.
    public let hashKey: String
    /// `hf:node:{name}:rooms`.
    public let roomsKey: String
    /// `hf:nodes`.
    public let nodesKey: String
    /// The bus channel presence messages are published on (`hf:{room}:bus`).
    public let channel: String

    /// The merged view by hash field.
    var slots: [String: Slot] = [:]
    var nextSequence: UInt64 = 0
    /// This node's entries in `slots`.
    public internal(set) var localCount = 0
    /// Remote changes not yet in a diff, in the order they first changed.
    var changes: [Change] = []
    var changeIndex: [String: Int] = [:]
    var coalescer: PresenceDiffCoalescer
    /// Why a read was sent: its changes reach members as a diff (seeding, a confirmed subscription) or, for the
    /// rewrite after an outage, as a whole `presence_state`.
    enum ReadPurpose: Sendable {
        case refresh
        case resync
        /// The first read of a room whose first local member is about to join: that member gets the whole view
        /// (``statePayload(local:)``), so what the read finds is no diff.
        case seed
    }

    /// Reads (and rewrites) whose reply is outstanding, in sending order (one connection answers in order); bus
    /// messages are buffered while there are any.
    var readsInFlight: [ReadPurpose] = []
    /// Bus messages received while a read was in flight, replayed over every read's result until none is left.
    var buffered: [ClusterPresenceMessage] = []
    /// Whether a read of the hash has completed (the view holds the other nodes' entries).
    public internal(set) var isSeeded = false

    /// A room with an empty view.
    ///
    /// - Parameters:
    ///   - channel: the bus channel; defaults to `keys.bus(room:)` (the reap script publishes there too).
    ///   - windowMilliseconds: the room's `presence_window_ms`, for coalescing remote diffs.
    public init(
        room: String, node: String, keys: ClusterKeys = ClusterKeys(), channel: String? = nil,
        windowMilliseconds: Int64
    ) {
        self.room = room
        self.node = node
        hashKey = keys.presence(room: room)
        roomsKey = keys.nodeRooms(node)
        nodesKey = keys.nodes
        self.channel = channel ?? keys.bus(room: room)
        coalescer = PresenceDiffCoalescer(windowMilliseconds: windowMilliseconds)
    }

    /// Metas in the view, all nodes.
    public var entryCount: Int { slots.count }

    /// Metas of other nodes in the view.
    public var remoteCount: Int { slots.count - localCount }

    // MARK: - Events

    /// The room took a coalesced local diff (`PresenceState.takeDiff()`, `{"joins": {...}, "leaves": {...}}`) and
    /// sent it to its members: store it and tell the other nodes. Metas without a string `phx_ref` are skipped.
    /// The first local diff of an unseeded room also asks for a read of the hash.
    public mutating func localDiff(_ diff: JSONValue, now: Int64) -> [ClusterPresenceAction] {
        let leaves = Self.entries(in: diff["leaves"], node: node)
        let joins = Self.entries(in: diff["joins"], node: node)
        guard !leaves.isEmpty || !joins.isEmpty else { return [] }
        for entry in leaves where slots[entry.field] != nil {
            slots[entry.field] = nil
            localCount -= 1
        }
        for entry in joins { insertLocal(entry) }
        var commands: [[RedisArgument]] = []
        if !leaves.isEmpty {
            commands.append(["HDEL", RedisArgument(hashKey)] + leaves.map { RedisArgument($0.field) })
        }
        if !joins.isEmpty {
            var hset: [RedisArgument] = ["HSET", RedisArgument(hashKey)]
            for entry in joins { hset += [RedisArgument(entry.field), RedisArgument(bytes: entry.encodedValue)] }
            commands.append(hset)
        }
        // The set is what the reap script visits: in it while this node has fields here.
        commands.append([localCount > 0 ? "SADD" : "SREM", RedisArgument(roomsKey), RedisArgument(room)])
        let message = ClusterPresenceMessage(node: node, joins: joins, leaves: leaves)
        commands.append(["PUBLISH", RedisArgument(channel), RedisArgument(bytes: message.encoded())])
        var actions: [ClusterPresenceAction] = [.write(commands)]
        if !isSeeded && readsInFlight.isEmpty && localCount > 0 { actions.append(startRead()) }
        return actions
    }

    /// A presence message arrived on the room's bus. This node's own messages are ignored (the view already has
    /// them); during a read it is buffered.
    public mutating func receive(_ message: ClusterPresenceMessage, now: Int64) -> [ClusterPresenceAction] {
        guard message.node != node else { return [] }
        if !readsInFlight.isEmpty {
            buffered.append(message)
            return []
        }
        return apply(message) ? changeRecorded(now: now) : []
    }

    /// The room's bus subscription was confirmed (the first time, or again after a reconnect): read the hash, so
    /// nothing published before the subscription is missed. Nothing to do for a room with no local member and no
    /// view.
    public mutating func subscribed(now: Int64) -> [ClusterPresenceAction] {
        guard isSeeded || localCount > 0 else { return [] }
        return [startRead()]
    }

    /// The room's first local member is about to join: read the hash, so that member's `presence_state` lists
    /// every node's entries. Nothing to do for a seeded view or while a read is out.
    public mutating func seed(now: Int64) -> [ClusterPresenceAction] {
        guard !isSeeded, readsInFlight.isEmpty else { return [] }
        readsInFlight.append(.seed)
        return [.read]
    }

    /// The command link is ready again after an outage (or the node found its token gone): rewrite this node's
    /// entries from local truth (Redis may have lost them, or missed writes) and re-read the room.
    public mutating func linkReady(now: Int64) -> [ClusterPresenceAction] {
        guard isSeeded || localCount > 0 else { return [] }
        readsInFlight.append(.resync)
        return [.rewrite(localEntries)]
    }

    /// A read (or rewrite) answered: `fields` is the hash (`field`, stored value), `liveNodes` the members of
    /// `hf:nodes`. Remote entries become the hash's, except that a node missing from both the hash and
    /// `liveNodes` keeps its entries (after a Redis restart it has not rewritten them yet; its `replace` message
    /// or its death settles them). Changes reach members as a coalesced diff, except after the rewrite of
    /// ``linkReady(now:)`` on a seeded view: then a `presence_state`, if, and only if, the view changed.
    public mutating func roomRead(
        fields: [(field: String, value: [UInt8])], liveNodes: Set<String>, now: Int64
    ) -> [ClusterPresenceAction] {
        let purpose = readsInFlight.isEmpty ? .refresh : readsInFlight.removeFirst()
        let before = remoteEntries
        var target: [String: ClusterPresenceEntry] = [:]
        for (field, value) in fields {
            guard let entry = ClusterPresenceEntry(field: field, value: value), entry.node != node else { continue }
            target[field] = entry
        }
        let nodesInHash = Set(target.values.map(\.node))
        for (field, entry) in before where !nodesInHash.contains(entry.node) && !liveNodes.contains(entry.node) {
            target[field] = entry
        }
        var changed = false
        for field in before.keys where target[field] == nil { changed = remove(field) || changed }
        // Hash order is arbitrary; sort so that a seeded view lists keys the same way on every node.
        for (_, entry) in target.sorted(by: { $0.key < $1.key }) { changed = upsert(entry) || changed }
        for message in buffered { changed = apply(message) || changed }
        if readsInFlight.isEmpty { buffered.removeAll() }
        let wasSeeded = isSeeded
        isSeeded = true
        if purpose == .seed && readsInFlight.isEmpty && localCount == 0 {
            changes.removeAll()
            changeIndex.removeAll()
            return []
        }
        guard purpose == .resync && wasSeeded else { return changed ? changeRecorded(now: now) : [] }
        guard remoteEntries != before else { return [] }
        // Members get the whole view; the changes it covers must not follow as a diff.
        changes.removeAll()
        changeIndex.removeAll()
        return [.pushState(statePayload())]
    }

    /// A read (or rewrite) failed (the link dropped, or Redis refused): apply what was buffered; the next
    /// ``linkReady(now:)`` or ``subscribed(now:)`` reads again.
    public mutating func roomReadFailed(now: Int64) -> [ClusterPresenceAction] {
        if !readsInFlight.isEmpty { readsInFlight.removeFirst() }
        guard readsInFlight.isEmpty else { return [] }
        var changed = false
        for message in buffered { changed = apply(message) || changed }
        buffered.removeAll()
        return changed ? changeRecorded(now: now) : []
    }

    /// `name` is gone for good (the registry saw it leave `hf:nodes` without a reap this node heard of): drop its
    /// entries.
    public mutating func dropNode(_ name: String, now: Int64) -> [ClusterPresenceAction] {
        guard name != node else { return [] }
        var changed = false
        for (field, slot) in slots where slot.entry.node == name { changed = remove(field) || changed }
        return changed ? changeRecorded(now: now) : []
    }

    /// The coalescing window ended: the remote changes since the last flush, as one `presence_diff`.
    public mutating func flush(now: Int64) -> [ClusterPresenceAction] {
        coalescer.flushed(now: now)
        guard let diff = takeDiff() else { return [] }
        return [.pushDiff(diff)]
    }

    // MARK: - Internals

    /// This node's entries, in view order.
    var localEntries: [ClusterPresenceEntry] {
        slots.values.filter { $0.entry.node == node }.sorted { $0.sequence < $1.sequence }.map(\.entry)
    }

    /// The other nodes' entries by field.
    var remoteEntries: [String: ClusterPresenceEntry] {
        var result: [String: ClusterPresenceEntry] = [:]
        for (field, slot) in slots where slot.entry.node != node { result[field] = slot.entry }
        return result
    }

    mutating func startRead() -> ClusterPresenceAction {
        readsInFlight.append(.refresh)
        return .read
    }

    mutating func changeRecorded(now: Int64) -> [ClusterPresenceAction] {
        guard let due = coalescer.changeRecorded(now: now) else { return [] }
        return [.wakeAt(due)]
    }

    /// Applies a remote message to the view; true when it changed anything.
    mutating func apply(_ message: ClusterPresenceMessage) -> Bool {
        var changed = false
        if message.replace {
            let kept = Set(message.joins.map(\.field))
            for (field, slot) in slots where slot.entry.node == message.node && !kept.contains(field) {
                changed = remove(field) || changed
            }
        }
        for entry in message.leaves { changed = remove(entry.field) || changed }
        for entry in message.joins { changed = upsert(entry) || changed }
        return changed
    }

    mutating func insertLocal(_ entry: ClusterPresenceEntry) {
        if slots[entry.field] == nil { localCount += 1 }
        slots[entry.field] = Slot(entry: entry, sequence: nextSequence)
        nextSequence += 1
    }

    /// Adds or replaces a remote entry; true when the view changed.
    mutating func upsert(_ entry: ClusterPresenceEntry) -> Bool {
        if let slot = slots[entry.field], slot.entry == entry { return false }
        noteChange(entry.field)
        slots[entry.field] = Slot(entry: entry, sequence: nextSequence)
        nextSequence += 1
        return true
    }

    /// Removes a remote entry; true when there was one.
    mutating func remove(_ field: String) -> Bool {
        guard slots[field] != nil else { return false }
        noteChange(field)
        slots[field] = nil
        return true
    }

    mutating func noteChange(_ field: String) {
        guard changeIndex[field] == nil else { return }
        changeIndex[field] = changes.count
        changes.append(Change(field: field, before: slots[field]?.entry))
    }

    /// The metas of a `{key: {"metas": [...]}}` group as entries of `node`.
    static func entries(in groups: JSONValue?, node: String) -> [ClusterPresenceEntry] {
        guard let members = groups?.objectMembers else { return [] }
        var entries: [ClusterPresenceEntry] = []
        for member in members {
            guard case .array(let metas)? = member.value["metas"] else { continue }
            for meta in metas {
                if let entry = ClusterPresenceEntry(node: node, key: member.key, meta: meta) { entries.append(entry) }
            }
        }
        return entries
    }
}
