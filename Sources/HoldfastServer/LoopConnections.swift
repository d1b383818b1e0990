import HoldfastCore

/// The connections one event loop owns, for the periodic deadline sweep and for shutdown.
///
/// Thread ownership: the loop's thread only.
/// `@unchecked Sendable` for the same reason: created by the server, then used only on its loop.
final class LoopConnections: @unchecked Sendable {
    private(set) var connections: [Connection] = []

    func add(_ connection: Connection) {
        connection.slot = connections.count
        connections.append(connection)
    }

    func remove(_ connection: Connection) {
        let slot = connection.slot
        guard slot >= 0, slot < connections.count, connections[slot] === connection else { return }
        let last = connections.removeLast()
        if slot < connections.count {
            connections[slot] = last
            last.slot = slot
        }
        connection.slot = -1
    }

    var count: Int { connections.count }

    /// Runs `body` over a snapshot, so connections may close (and leave the list) while it runs.
    func forEach(_ body: (Connection) -> Void) {
        for connection in connections { body(connection) }
    }
}
