public import HoldfastJSON

/// What the server knows about itself at one moment, gathered by the admin endpoint for `GET /admin/status` and
/// `GET /admin/stats` (the counters kept in ``ServerMetrics`` are read here directly).
public struct ServerFacts: Sendable {
    /// The process that serves.
    public var pid: Int
    /// The binary's version.
    public var version: String
    /// The handler version in use, the previous one (rollback target), and the plugins loaded.
    public var handlersCurrent: String
    public var handlersPrevious: String?
    public var handlersLoaded: [(version: String, path: String)]
    /// The handlers' own summary of their state.
    public var handlersState: JSONValue
    /// Open connections on all listeners.
    public var connections: Int
    public var rooms: Int
    public var roomRestarts: Int
    /// Each event loop's time spent waiting for events since it started.
    public var loopIdleNanoseconds: [UInt64]
    /// Batches on their way into the history database.
    public var historyQueuedBatches: Int
    /// The upgrades and rollbacks this process did or took part in, oldest first.
    public var upgrades: [JSONValue]
    /// The `cluster` object (node, Redis links, live nodes) of a clustered node; nil on a single node.
    public var cluster: JSONValue?

    /// Facts with every field given.
    public init(
        pid: Int, version: String, handlersCurrent: String, handlersPrevious: String?,
        handlersLoaded: [(version: String, path: String)], handlersState: JSONValue, connections: Int, rooms: Int,
        roomRestarts: Int, loopIdleNanoseconds: [UInt64], historyQueuedBatches: Int, upgrades: [JSONValue],
        cluster: JSONValue? = nil
    ) {
        self.cluster = cluster
        self.pid = pid
        self.version = version
        self.handlersCurrent = handlersCurrent
        self.handlersPrevious = handlersPrevious
        self.handlersLoaded = handlersLoaded
        self.handlersState = handlersState
        self.connections = connections
        self.rooms = rooms
        self.roomRestarts = roomRestarts
        self.loopIdleNanoseconds = loopIdleNanoseconds
        self.historyQueuedBatches = historyQueuedBatches
        self.upgrades = upgrades
    }

    /// `GET /admin/status`: who is serving and what it holds.
    public var statusDocument: JSONValue {
        let clusterMembers = cluster.map { [JSONMember("cluster", $0)] } ?? []
        return .object([
            JSONMember("pid", .integer(Int64(pid))),
            JSONMember("version", .string(version)),
            JSONMember("handlers", handlersDocument(withState: true)),
            JSONMember("connections", .integer(Int64(connections))),
            JSONMember("rooms", .integer(Int64(rooms))),
            JSONMember(
                "actors",
                .object([
                    JSONMember("rooms", .integer(Int64(rooms))),
                    JSONMember("restarts", .integer(Int64(roomRestarts))),
                ])),
            JSONMember("event_loops", .integer(Int64(loopIdleNanoseconds.count))),
            JSONMember("last_upgrade", upgrades.last ?? .null),
        ] + clusterMembers)
    }

    func handlersDocument(withState: Bool) -> JSONValue {
        var members = [
            JSONMember("current", .string(handlersCurrent)),
            JSONMember("previous", handlersPrevious.map { .string($0) } ?? .null),
        ]
        if withState { members.append(JSONMember("state", handlersState)) }
        members.append(
            JSONMember(
                "loaded",
                .array(
                    handlersLoaded.map {
                        .object([JSONMember("version", .string($0.version)), JSONMember("path", .string($0.path))])
                    })))
        return .object(members)
    }
}
