public import HoldfastJSON

extension PresenceState {
    /// The full state as the `presence_state` payload: `{key: {"metas": [meta, ...]}}`.
    ///
    /// Keys appear in the order of their oldest meta, metas in tracking order; each meta carries `phx_ref`
    /// (and `phx_ref_prev` after an update) after the tracked members. O(N).
    public func statePayload() -> JSONValue {
        var groups = PresenceKeyGroups()
        for index in order.indices where isLive(index) {
            let (slot, presence) = (order[index], order[index].presence)
            groups.append(Self.render(presence, ref: slot.ref), key: presence.key)
        }
        return groups.payload
    }

    /// Takes the changes since the last call as a `presence_diff` payload, `{"joins": {...}, "leaves": {...}}`
    /// (each side shaped like ``statePayload()``), or nil if clients would see no change.
    ///
    /// The window is coalesced: a meta that joined and left within it appears in neither side, a meta updated
    /// several times appears once, and any number of joins make one diff. Metas are listed in the order they
    /// first changed. O(changes).
    public mutating func takeDiff() -> JSONValue? {
        defer {
            changes.removeAll(keepingCapacity: changes.count <= 1024)
            changeIndex.removeAll(keepingCapacity: changeIndex.count <= 1024)
        }
        var joins = PresenceKeyGroups()
        var leaves = PresenceKeyGroups()
        for change in changes {
            let after = presence(change.ref)
            switch (change.before, after) {
            case (nil, nil):
                continue
            case (nil, let after?):
                joins.append(Self.render(after, ref: change.ref), key: after.key)
            case (let before?, nil):
                leaves.append(Self.render(before, ref: change.ref), key: before.key)
            case (let before?, let after?):
                if before.looksLike(after) { continue }
                // A join under a ref the client holds replaces that meta in place, but only within one key.
                if before.key != after.key {
                    leaves.append(Self.render(before, ref: change.ref), key: before.key)
                }
                joins.append(Self.render(after, ref: change.ref), key: after.key)
            }
        }
        guard !joins.isEmpty || !leaves.isEmpty else { return nil }
        return .object([JSONMember("joins", joins.payload), JSONMember("leaves", leaves.payload)])
    }

    /// Whether changes are waiting for ``takeDiff()`` (they may still coalesce to nothing).
    public var hasPendingChanges: Bool { !changes.isEmpty }

    /// Forgets the changes since the last ``takeDiff()``, for when clients are about to receive the whole state
    /// instead (a rebuild after a restart is followed by a `presence_state` push, not a diff).
    public mutating func discardPendingChanges() {
        changes.removeAll()
        changeIndex.removeAll()
    }

    /// A meta as clients see it: the tracked members, then `phx_ref`, then `phx_ref_prev` if any.
    static func render(_ presence: Presence, ref: String) -> JSONValue {
        var members = presence.fields
        members.reserveCapacity(members.count + 2)
        members.append(JSONMember("phx_ref", .string(ref)))
        if let previous = presence.previousRef {
            members.append(JSONMember("phx_ref_prev", .string(previous)))
        }
        return .object(members)
    }
}

/// Metas grouped by key, keys in first-seen order: builds `{key: {"metas": [...]}}` in O(metas), the shape of
/// a `presence_state` and of each half of a `presence_diff`.
public struct PresenceKeyGroups {
    private var keys: [String] = []
    private var metas: [[JSONValue]] = []
    private var index: [String: Int] = [:]

    /// No key yet.
    public init() {}

    /// Whether no meta was added.
    public var isEmpty: Bool { keys.isEmpty }

    /// Adds `meta` under `key`, after the metas already there.
    public mutating func append(_ meta: JSONValue, key: String) {
        if let position = index[key] {
            metas[position].append(meta)
        } else {
            index[key] = keys.count
            keys.append(key)
            metas.append([meta])
        }
    }

    /// `{key: {"metas": [...]}}`, keys in the order they were first added.
    public var payload: JSONValue {
        var members: [JSONMember] = []
        members.reserveCapacity(keys.count)
        for (key, list) in zip(keys, metas) {
            members.append(JSONMember(key, .object([JSONMember("metas", .array(list))])))
        }
        return .object(members)
    }
}
