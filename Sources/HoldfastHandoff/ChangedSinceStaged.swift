/// The connections of one event loop whose staged copy may have gone stale since a binary upgrade's staging or
/// last catch-up round copied them: those that read or wrote, queued output, changed their TLS state, completed a
/// join, closed, or were accepted since. Rounds and the pause visit only these rather than every connection.
///
/// A connection is noted at most once (its ``StageableConnection/markedChanged`` flag), so noting one that is noted
/// already costs a load and a branch; so does noting when no upgrade is under way.
///
/// Thread ownership: the loop's thread only, like its connections.
public struct ChangedSinceStaged<Connection: StageableConnection> {
    /// Whether changes are noted (from staging until the upgrade is over or rolled back).
    public private(set) var tracking = false
    /// The connections noted, in the order they first changed; closed ones among them too.
    public var noted: [Connection] { notedSoFar }
    @usableFromInline var notedSoFar: [Connection] = []

    /// Nothing noted, not tracking.
    public init() {}

    /// Notes that `connection` changed, while tracking.
    @inlinable
    public mutating func note(_ connection: Connection) {
        guard tracking, !connection.markedChanged else { return }
        connection.markedChanged = true
        notedSoFar.append(connection)
    }

    /// Starts noting afresh (staging copies every connection, so nothing noted before counts).
    public mutating func start() {
        stop()
        tracking = true
    }

    /// Stops noting and forgets what was noted (the upgrade rolled back).
    public mutating func stop() {
        _ = take()
        tracking = false
    }

    /// What was noted since the last call; the next round starts with nothing noted.
    @inlinable
    public mutating func take() -> [Connection] {
        let taken = notedSoFar
        notedSoFar = []
        for connection in taken { connection.markedChanged = false }
        return taken
    }
}
