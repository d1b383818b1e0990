public import HoldfastJSON

/// What an upgrade or rollback did, reported by the admin endpoints.
public struct UpgradeRecord: Sendable {
    public let kind: String
    public let outcome: String
    public let from: String
    public let to: String
    /// From the request to resuming the rooms: how long rooms held their messages.
    public let pauseMilliseconds: Double
    public let suspendMilliseconds: Double
    public let migrateMilliseconds: Double
    public let rooms: Int
    public let error: String?
    /// Fields particular to the kind of upgrade (a binary upgrade's pids, counts and step timings).
    public var extra: [JSONMember] = []

    public init(
        kind: String, outcome: String, from: String, to: String, pauseMilliseconds: Double,
        suspendMilliseconds: Double, migrateMilliseconds: Double, rooms: Int, error: String?
    ) {
        self.kind = kind
        self.outcome = outcome
        self.from = from
        self.to = to
        self.pauseMilliseconds = pauseMilliseconds
        self.suspendMilliseconds = suspendMilliseconds
        self.migrateMilliseconds = migrateMilliseconds
        self.rooms = rooms
        self.error = error
    }

    /// The record as the admin endpoints answer it.
    public var json: JSONValue {
        var members = [
            JSONMember("kind", .string(kind)), JSONMember("outcome", .string(outcome)),
            JSONMember("from", .string(from)), JSONMember("to", .string(to)),
            JSONMember("pause_ms", .double(pauseMilliseconds)), JSONMember("suspend_ms", .double(suspendMilliseconds)),
            JSONMember("migrate_ms", .double(migrateMilliseconds)), JSONMember("rooms", .integer(Int64(rooms))),
        ]
        if let error { members.append(JSONMember("error", .string(error))) }
        members += extra
        return .object(members)
    }
}
