import HoldfastHTTP
import HoldfastJSON

extension APIService {
    /// Presence across nodes could not be read (Redis away).
    static var presenceUnavailable: APIError {
        APIError(.serviceUnavailable, "presence_unavailable", "the cluster's presence cannot be read now")
    }

    /// `presence_stats` of a presence payload: `clients` counts metas (devices), `users` keys.
    static func stats(of presence: JSONValue) -> JSONValue {
        let groups = presence.objectMembers ?? []
        var clients = 0
        for group in groups { if case .array(let metas)? = group.value["metas"] { clients += metas.count } }
        return .object([
            JSONMember("clients", .integer(Int64(clients))), JSONMember("users", .integer(Int64(groups.count))),
        ])
    }
}
