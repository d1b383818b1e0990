import HoldfastJSON
import HoldfastPresence

/// `{name: value, ...}` with members in the given order.
func object(_ members: (String, JSONValue)...) -> JSONValue {
    .object(members.map { JSONMember($0.0, $0.1) })
}

/// `{"metas": [...]}`.
func metas(_ list: JSONValue...) -> JSONValue {
    object(("metas", .array(list)))
}

/// A device meta as clients see it.
func deviceMeta(_ device: String, ref: String, previous: String? = nil) -> JSONValue {
    var members = [JSONMember("device", .string(device)), JSONMember("phx_ref", .string(ref))]
    if let previous { members.append(JSONMember("phx_ref_prev", .string(previous))) }
    return .object(members)
}

/// `{"device": name}`.
func device(_ name: String) -> JSONValue {
    object(("device", .string(name)))
}

/// A diff payload.
func diff(joins: JSONValue = .emptyObject, leaves: JSONValue = .emptyObject) -> JSONValue {
    object(("joins", joins), ("leaves", leaves))
}
