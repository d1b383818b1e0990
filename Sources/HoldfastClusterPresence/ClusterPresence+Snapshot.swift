import HoldfastJSON

extension ClusterPresence {
    /// The view for a binary upgrade: every entry (this node's and the others'), the remote changes not yet sent
    /// and whether the view was seeded, as JSON bytes. The new process continues with the same view, so it pushes
    /// nothing unless Redis says the room changed meanwhile.
    public func exportSnapshot() -> [UInt8] {
        let ordered = slots.values.sorted { $0.sequence < $1.sequence }
        let entries = ordered.map { Self.snapshotValue($0.entry) }
        let pending = changes.map { change in
            JSONValue.object([
                JSONMember("field", .string(change.field)),
                JSONMember("before", change.before.map(Self.snapshotValue) ?? .null),
            ])
        }
        return JSON.encode(
            .object([
                JSONMember("v", .integer(1)), JSONMember("seeded", .bool(isSeeded)),
                JSONMember("entries", .array(entries)), JSONMember("changes", .array(pending)),
            ]))
    }

    /// The view of ``exportSnapshot()`` for `room` on `node`. After importing, call ``subscribed(now:)`` once the
    /// new process's subscription is confirmed (a read that pushes `presence_state` only if the room moved), and
    /// ``flush(now:)`` if ``hasPendingChanges``.
    ///
    /// - Throws: ``ClusterPresenceSnapshotError`` for bytes that are not such a snapshot.
    public init(
        importing bytes: [UInt8], room: String, node: String, keys: ClusterKeys = ClusterKeys(),
        channel: String? = nil, windowMilliseconds: Int64
    ) throws(ClusterPresenceSnapshotError) {
        self.init(room: room, node: node, keys: keys, channel: channel, windowMilliseconds: windowMilliseconds)
        guard let value = try? JSON.parse(bytes), value["v"] == .integer(1),
            case .array(let entries)? = value["entries"], case .array(let pending)? = value["changes"]
        else { throw .malformed }
        for item in entries {
            guard let entry = Self.entry(snapshotValue: item) else { throw .malformed }
            if entry.node == node { insertLocal(entry) } else { _ = upsert(entry) }
        }
        changes.removeAll()
        changeIndex.removeAll()
        for item in pending {
            guard let field = item["field"]?.stringValue, changeIndex[field] == nil else { throw .malformed }
            let before = item["before"] == .null ? nil : item["before"].flatMap(Self.entry(snapshotValue:))
            changeIndex[field] = changes.count
            changes.append(Change(field: field, before: before))
        }
        isSeeded = value["seeded"] == .bool(true)
    }

    /// Whether remote changes wait for a ``flush(now:)``.
    public var hasPendingChanges: Bool { !changes.isEmpty }

    static func snapshotValue(_ entry: ClusterPresenceEntry) -> JSONValue {
        .object([
            JSONMember("node", .string(entry.node)), JSONMember("key", .string(entry.key)),
            JSONMember("meta", entry.meta),
        ])
    }

    static func entry(snapshotValue value: JSONValue) -> ClusterPresenceEntry? {
        guard let node = value["node"]?.stringValue else { return nil }
        return ClusterPresenceEntry(node: node, value: value)
    }
}

/// Why bytes did not import as a ``ClusterPresence`` view.
public enum ClusterPresenceSnapshotError: Error, Sendable, Equatable {
    /// Not a snapshot of this format version.
    case malformed
}
