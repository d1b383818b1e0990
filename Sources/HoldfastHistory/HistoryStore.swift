internal import CSQLite

/// Durable per-room chat history in one SQLite database, in WAL mode with `synchronous=FULL`.
///
/// **Threads.** Used from one thread at a time: the connection is opened with `SQLITE_OPEN_NOMUTEX` and the
/// prepared statements are shared state, so the type is deliberately not `Sendable`. Hand the store to the
/// history thread (or the room actor's executor) and call it only from there.
///
/// **Durability.** ``append(_:)`` returns only after its transaction is committed and the WAL is fsynced
/// (`synchronous=FULL`), so a message acknowledged after `append` returns survives a process crash and a
/// power loss. `NORMAL` would survive a process crash but could lose the last commits on power loss; the
/// per-batch fsync is what buys "acknowledged means durable", and group commit amortizes it.
///
/// **Trimming.** After each append a room keeps only its newest `keepPerRoom` messages. The highest id ever
/// trimmed is remembered per room, so ``messages(room:after:limit:)`` can tell a client whether the history
/// still reaches back to what it last saw, even across restarts and gaps in the id sequence.
public final class HistoryStore {
    /// The schema version this build writes and reads.
    public static let schemaVersion: Int64 = 2

    /// The database path, for error messages.
    public let path: String
    /// How many messages each room keeps.
    public let keepPerRoom: Int

    // Both are nil once close() has run; guarded by the one-thread-at-a-time rule above.
    private var db: OpaquePointer?
    private var statements: Statements?

    /// Opens (creating if needed) the history database at `path`.
    ///
    /// Sets WAL mode and `synchronous=FULL`, creates or checks the schema, and prepares the statements
    /// every later call reuses.
    ///
    /// - Parameters:
    ///   - path: The database file; the server passes `STATE_DIR/history.sqlite3`. Its directory must exist.
    ///   - keepPerRoom: How many of the newest messages each room keeps; at least 1.
    /// - Throws: ``HistoryError/invalidKeepPerRoom(_:)``, ``HistoryError/cannotOpen(path:reason:)`` when the file
    ///   cannot be opened or is not a usable database, ``HistoryError/unsupportedSchema(found:supported:)``.
    public init(path: String, keepPerRoom: Int) throws(HistoryError) {
        guard keepPerRoom >= 1 else { throw .invalidKeepPerRoom(keepPerRoom) }
        self.path = path
        self.keepPerRoom = keepPerRoom

        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let reason = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw .cannotOpen(path: path, reason: reason)
        }
        db = handle
        sqlite3_extended_result_codes(handle, 1)
        // Another process (a backup, an operator's sqlite3 shell) may hold a lock briefly.
        sqlite3_busy_timeout(handle, 5_000)
        do {
            try configure(handle)
            statements = try Statements(db: handle)
        } catch {
            close()
            if case .sqlite(_, let message, let during) = error {
                throw .cannotOpen(path: path, reason: "\(message) (while \(during))")
            }
            throw error
        }
    }

    deinit {
        close()
    }

    /// The highest id stored (or ever trimmed) for `room`, 0 if the room has no history.
    ///
    /// The room actor numbers new messages from `lastID + 1` when it starts or restarts.
    /// - Throws: ``HistoryError/sqlite(code:message:during:)``, ``HistoryError/closed``.
    public func lastID(room: String) throws(HistoryError) -> Int64 {
        let statements = try open()
        return max(try statements.newestID(room: room), try statements.trimmedThrough(room: room))
    }

    /// Appends a batch of messages in one transaction, then trims each room in it to the newest `keepPerRoom`.
    ///
    /// Returns once the transaction is committed and fsynced; only then may the senders be told "ok".
    /// Within a room, ids must be strictly increasing and above ``lastID(room:)``; the batch may mix rooms.
    /// On any error nothing of the batch is stored.
    /// - Throws: ``HistoryError/idNotIncreasing(room:id:lastID:)``, ``HistoryError/sqlite(code:message:during:)``
    ///   (for example a full disk), ``HistoryError/closed``.
    public func append(_ messages: [StoredMessage]) throws(HistoryError) {
        guard !messages.isEmpty else { return }
        let statements = try open()
        try statements.begin.run()
        do throws(HistoryError) {
            var lastIDs: [String: Int64] = [:]
            for message in messages {
                let previous: Int64
                if let known = lastIDs[message.room] {
                    previous = known
                } else {
                    previous = max(
                        try statements.newestID(room: message.room), try statements.trimmedThrough(room: message.room))
                }
                guard message.id > previous else {
                    throw HistoryError.idNotIncreasing(room: message.room, id: message.id, lastID: previous)
                }
                lastIDs[message.room] = message.id
                try statements.insert(message)
            }
            for room in lastIDs.keys {
                try statements.trim(room: room, keep: Int64(keepPerRoom))
            }
            try statements.commit.run()
        } catch {
            // ROLLBACK can itself fail if SQLite already rolled back (e.g. SQLITE_FULL); the first error is the one
            // worth reporting.
            try? statements.rollback.run()
            throw error
        }
    }

    /// Messages of `room` with id greater than `afterID`, oldest first, at most `limit` of them.
    ///
    /// - Parameters:
    ///   - room: The room to read.
    ///   - afterID: The client's `last_seen_id`; 0 (or less) means "from the oldest kept message".
    ///   - limit: The most messages to return; the caller pages with the last returned id.
    /// - Returns: The messages, and `complete`: `true` when nothing after `afterID` has been trimmed away
    ///   (always when `afterID >= lastID(room:)`), `false` when the client missed messages that are gone, in
    ///   which case the server replies `"recovered": false`.
    /// - Throws: ``HistoryError/sqlite(code:message:during:)``, ``HistoryError/closed``.
    public func messages(
        room: String, after afterID: Int64, limit: Int
    ) throws(HistoryError) -> (messages: [StoredMessage], complete: Bool) {
        let statements = try open()
        let trimmed = try statements.trimmedThrough(room: room)
        let found = limit > 0 ? try statements.select(room: room, after: afterID, limit: Int64(limit)) : []
        return (found, afterID >= trimmed)
    }

    /// Finalizes the statements and closes the database; later calls throw ``HistoryError/closed``.
    ///
    /// Safe to call more than once. A committed WAL needs no checkpoint to be durable; SQLite checkpoints on the
    /// last close.
    public func close() {
        statements?.finalize()
        statements = nil
        if let db {
            sqlite3_close_v2(db)
        }
        db = nil
    }

    private func open() throws(HistoryError) -> Statements {
        guard let statements else { throw .closed }
        return statements
    }

    /// WAL, `synchronous=FULL` and the schema, checked or created in one transaction.
    private func configure(_ db: OpaquePointer) throws(HistoryError) {
        let mode = try Self.query(db, "PRAGMA journal_mode=WAL")
        guard mode?.lowercased() == "wal" else {
            throw .cannotOpen(path: path, reason: "SQLite refused WAL mode (journal_mode is \(mode ?? "unknown"))")
        }
        try Self.execute(db, "PRAGMA synchronous=FULL")
        // A new process taking over from a running one finds the schema current. Reading that takes no lock,
        // where BEGIN IMMEDIATE would compete for the write lock with the old process's back-to-back commits,
        // and could lose every retry of the busy timeout.
        if try Self.schemaIsCurrent(db) { return }
        try Self.execute(db, "BEGIN IMMEDIATE")
        do throws(HistoryError) {
            try Self.execute(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            if let found = try Self.query(db, "SELECT max(version) FROM schema_version").flatMap({ Int64($0) }) {
                guard found <= Self.schemaVersion else {
                    throw HistoryError.unsupportedSchema(found: found, supported: Self.schemaVersion)
                }
                // An older database is brought up to date in the same transaction; its rows keep their meaning.
                var version = found
                while version < Self.schemaVersion {
                    version += 1
                    if let migration = Statements.migrations[version] { try Self.execute(db, migration) }
                    try Self.execute(db, "INSERT INTO schema_version (version) VALUES (\(version))")
                }
            } else {
                try Self.execute(db, "INSERT INTO schema_version (version) VALUES (\(Self.schemaVersion))")
            }
            try Self.execute(db, Statements.schema)
            try Self.execute(db, "COMMIT")
        } catch {
            try? Self.execute(db, "ROLLBACK")
            throw error
        }
    }

    /// Runs SQL with no parameters and no results (pragmas, DDL, transaction control at open).
    private static func execute(_ db: OpaquePointer, _ sql: String) throws(HistoryError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(db, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            throw .sqlite(code: sqlite3_extended_errcode(db), message: text, during: "running \(sql)")
        }
    }

    /// Runs SQL with no parameters and returns the first column of the first row as text, if any.
    /// Whether every table exists and the schema table records this build's version (a read: WAL readers take no lock).
    private static func schemaIsCurrent(_ db: OpaquePointer) throws(HistoryError) -> Bool {
        let tables = try query(
            db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('schema_version','messages','rooms')")
        guard tables == "3" else { return false }
        return try query(db, "SELECT max(version) FROM schema_version").flatMap({ Int64($0) }) == schemaVersion
    }

    private static func query(_ db: OpaquePointer, _ sql: String) throws(HistoryError) -> String? {
        let statement = try Statement.prepare(sql, in: db)
        defer { statement.finalize() }
        return try statement.step() ? statement.text(at: 0) : nil
    }
}
