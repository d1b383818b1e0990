public import HoldfastJSON
import HoldfastPresence

extension ClusterPresence {
    /// The merged view as the `presence_state` payload, `{key: {"metas": [meta, ...]}}`: keys in the order of
    /// their oldest meta in the view, metas in view order. O(N log N).
    public func statePayload() -> JSONValue {
        var groups = PresenceKeyGroups()
        for slot in slots.values.sorted(by: { $0.sequence < $1.sequence }) {
            groups.append(slot.entry.meta, key: slot.entry.key)
        }
        return groups.payload
    }

    /// The `presence_state` payload of `local` (the room's own `PresenceState`, which is ahead of this view for
    /// joins still in their coalescing window) followed by the other nodes' entries in view order.
    public func statePayload(local: JSONValue) -> JSONValue {
        var groups = PresenceKeyGroups()
        for member in local.objectMembers ?? [] {
            guard case .array(let metas)? = member.value["metas"] else { continue }
            for meta in metas { groups.append(meta, key: member.key) }
        }
        for slot in slots.values.sorted(by: { $0.sequence < $1.sequence }) where slot.entry.node != node {
            groups.append(slot.entry.meta, key: slot.entry.key)
        }
        return groups.payload
    }

    /// The remote changes since the last take as a `presence_diff` payload, or nil when local members would see
    /// none: an entry that came and went within the window is in neither side, one replaced by an equal entry
    /// is in none. O(changes).
    mutating func takeDiff() -> JSONValue? {
        defer {
            changes.removeAll(keepingCapacity: changes.count <= 1024)
            changeIndex.removeAll(keepingCapacity: changeIndex.count <= 1024)
        }
        var joins = PresenceKeyGroups()
        var leaves = PresenceKeyGroups()
        for change in changes {
            switch (change.before, slots[change.field]?.entry) {
            case (nil, nil):
                continue
            case (nil, let after?):
                joins.append(after.meta, key: after.key)
            case (let before?, nil):
                leaves.append(before.meta, key: before.key)
            case (let before?, let after?):
                if before == after { continue }
                // A join under a ref the client holds replaces that meta in place, but only within one key.
                if before.key != after.key { leaves.append(before.meta, key: before.key) }
                joins.append(after.meta, key: after.key)
            }
        }
        guard !joins.isEmpty || !leaves.isEmpty else { return nil }
        return .object([JSONMember("joins", joins.payload), JSONMember("leaves", leaves.payload)])
    }
}
