import HoldfastClusterPresence
import HoldfastJSON
import HoldfastPresence
import HoldfastRedis

/// `{name: value, ...}` with members in the given order.
func object(_ members: (String, JSONValue)...) -> JSONValue {
    .object(members.map { JSONMember($0.0, $0.1) })
}

/// A meta as clients see it.
func meta(_ device: String, ref: String) -> JSONValue {
    object(("device", .string(device)), ("phx_ref", .string(ref)))
}

/// An entry of `node`.
func entry(_ node: String, _ key: String, _ device: String, ref: String) -> ClusterPresenceEntry {
    ClusterPresenceEntry(node: node, key: key, meta: meta(device, ref: ref))!
}

/// The keys of a `{key: {"metas": [...]}}` payload with the `phx_ref`s of their metas.
func refsByKey(_ payload: JSONValue?) -> [String: [String]] {
    var result: [String: [String]] = [:]
    for member in payload?.objectMembers ?? [] {
        guard case .array(let metas)? = member.value["metas"] else { continue }
        result[member.key] = metas.compactMap { $0["phx_ref"]?.stringValue }
    }
    return result
}

/// The `presence_diff` payloads among `actions`.
func diffs(_ actions: [ClusterPresenceAction]) -> [JSONValue] {
    actions.compactMap { if case .pushDiff(let payload) = $0 { payload } else { nil } }
}

/// The commands of the `.write` actions, as text.
func commands(_ actions: [ClusterPresenceAction]) -> [[String]] {
    actions.flatMap { action -> [[String]] in
        guard case .write(let commands) = action else { return [] }
        return commands.map { $0.map { String(decoding: $0.bytes, as: UTF8.self) } }
    }
}

/// A room's local presence, as the room runtime keeps it, producing real coalesced diffs.
struct LocalRoom {
    var presence: PresenceState

    init(prefix: String) { presence = PresenceState(refPrefix: prefix) }

    /// Tracks `key` for `owner` and returns the diff the room would take.
    @discardableResult
    mutating func join(_ owner: UInt64, _ key: String, device: String) -> JSONValue {
        _ = presence.track(owner: owner, key: key, meta: object(("device", .string(device))))
        return presence.takeDiff() ?? .null
    }

    /// Untracks everything of `owner` and returns the diff.
    mutating func leave(_ owner: UInt64) -> JSONValue {
        presence.untrackAll(owner: owner)
        return presence.takeDiff() ?? .null
    }
}
