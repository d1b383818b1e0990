/// The prepared statements a ``HistoryStore`` reuses, one per query shape, with typed wrappers.
///
/// Every value reaches SQL as a bound parameter. Each wrapper resets its statement when done so the
/// implicit read transaction ends and the next call starts clean.
struct Statements {
    /// The tables, created at open if missing (schema version 2; version 1 lacked `kind` and `target`, which
    /// ``migrations`` adds).
    ///
    /// `messages` is keyed by (room, id) without a rowid, so a room's history is one contiguous range of
    /// the primary key: appends go to its end, replays and trims are range scans. `rooms.trimmed_through`
    /// is the highest id ever trimmed from a room, which decides whether a replay is complete.
    static let schema = """
        CREATE TABLE IF NOT EXISTS messages (
            room TEXT NOT NULL,
            id INTEGER NOT NULL,
            user TEXT NOT NULL,
            body TEXT NOT NULL,
            ts INTEGER NOT NULL,
            client_id TEXT,
            kind INTEGER NOT NULL DEFAULT 0,
            target INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (room, id)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS rooms (
            room TEXT PRIMARY KEY,
            trimmed_through INTEGER NOT NULL
        ) WITHOUT ROWID;
        """

    /// What turns a database of schema version N - 1 into version N, by N: entries gained a kind (message, edit,
    /// delete) and the id of the message an edit or delete changes. Existing rows are messages.
    static let migrations: [Int64: String] = [
        2: """
            ALTER TABLE messages ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE messages ADD COLUMN target INTEGER NOT NULL DEFAULT 0;
            """
    ]

    let begin: Statement
    let commit: Statement
    let rollback: Statement
    private let insertMessage: Statement
    private let newest: Statement
    private let trimmedQuery: Statement
    private let trimThreshold: Statement
    private let trimDelete: Statement
    private let markTrimmed: Statement
    private let selectAfter: Statement

    /// Prepares every statement against `db`.
    init(db: OpaquePointer) throws(HistoryError) {
        // BEGIN IMMEDIATE takes the write lock up front, so a busy database fails at BEGIN, not mid-batch.
        begin = try .prepare("BEGIN IMMEDIATE", in: db)
        commit = try .prepare("COMMIT", in: db)
        rollback = try .prepare("ROLLBACK", in: db)
        insertMessage = try .prepare(
            """
            INSERT INTO messages (room, id, user, body, ts, client_id, kind, target)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            """, in: db)
        newest = try .prepare("SELECT max(id) FROM messages WHERE room = ?1", in: db)
        trimmedQuery = try .prepare("SELECT trimmed_through FROM rooms WHERE room = ?1", in: db)
        trimThreshold = try .prepare(
            "SELECT id FROM messages WHERE room = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2", in: db)
        trimDelete = try .prepare("DELETE FROM messages WHERE room = ?1 AND id <= ?2", in: db)
        markTrimmed = try .prepare(
            """
            INSERT INTO rooms (room, trimmed_through) VALUES (?1, ?2)
            ON CONFLICT (room) DO UPDATE SET trimmed_through = max(trimmed_through, excluded.trimmed_through)
            """, in: db)
        selectAfter = try .prepare(
            """
            SELECT id, user, body, ts, client_id, kind, target FROM messages WHERE room = ?1 AND id > ?2 ORDER BY id
            LIMIT ?3
            """, in: db)
    }

    /// The highest id stored for `room`, 0 if none.
    func newestID(room: String) throws(HistoryError) -> Int64 {
        defer { newest.reset() }
        try newest.bind(room, at: 1)
        // max() of no rows is NULL, which reads as 0.
        return try newest.step() ? newest.int64(at: 0) : 0
    }

    /// The highest id ever trimmed from `room`, 0 if none.
    func trimmedThrough(room: String) throws(HistoryError) -> Int64 {
        defer { trimmedQuery.reset() }
        try trimmedQuery.bind(room, at: 1)
        return try trimmedQuery.step() ? trimmedQuery.int64(at: 0) : 0
    }

    /// Inserts one message; the caller holds the transaction.
    func insert(_ message: StoredMessage) throws(HistoryError) {
        defer { insertMessage.reset() }
        try insertMessage.bind(message.room, at: 1)
        try insertMessage.bind(message.id, at: 2)
        try insertMessage.bind(message.user, at: 3)
        try insertMessage.bind(message.body, at: 4)
        try insertMessage.bind(message.timestamp, at: 5)
        try insertMessage.bind(message.clientID, at: 6)
        try insertMessage.bind(message.kind.rawValue, at: 7)
        try insertMessage.bind(message.target, at: 8)
        _ = try insertMessage.step()
    }

    /// Deletes all but the newest `keep` messages of `room` and records the highest deleted id.
    func trim(room: String, keep: Int64) throws(HistoryError) {
        let threshold: Int64
        do {
            defer { trimThreshold.reset() }
            try trimThreshold.bind(room, at: 1)
            try trimThreshold.bind(keep, at: 2)
            // No row at offset `keep` means the room holds at most `keep` messages.
            guard try trimThreshold.step() else { return }
            threshold = trimThreshold.int64(at: 0)
        }
        do {
            defer { trimDelete.reset() }
            try trimDelete.bind(room, at: 1)
            try trimDelete.bind(threshold, at: 2)
            _ = try trimDelete.step()
        }
        defer { markTrimmed.reset() }
        try markTrimmed.bind(room, at: 1)
        try markTrimmed.bind(threshold, at: 2)
        _ = try markTrimmed.step()
    }

    /// Up to `limit` messages of `room` with id above `after`, oldest first.
    func select(room: String, after: Int64, limit: Int64) throws(HistoryError) -> [StoredMessage] {
        defer { selectAfter.reset() }
        try selectAfter.bind(room, at: 1)
        try selectAfter.bind(after, at: 2)
        try selectAfter.bind(limit, at: 3)
        var found: [StoredMessage] = []
        while try selectAfter.step() {
            found.append(
                StoredMessage(
                    room: room,
                    id: selectAfter.int64(at: 0),
                    user: selectAfter.text(at: 1) ?? "",
                    body: selectAfter.text(at: 2) ?? "",
                    timestamp: selectAfter.int64(at: 3),
                    clientID: selectAfter.text(at: 4),
                    kind: StoredMessage.Kind(rawValue: selectAfter.int64(at: 5)) ?? .message,
                    target: selectAfter.int64(at: 6)))
        }
        return found
    }

    /// Finalizes every statement; the value must not be used afterwards.
    func finalize() {
        for statement in [
            begin, commit, rollback, insertMessage, newest, trimmedQuery, trimThreshold, trimDelete, markTrimmed,
            selectAfter,
        ] {
            statement.finalize()
        }
    }
}

extension Statement {
    /// Steps a statement that returns no rows (transaction control) and resets it.
    func run() throws(HistoryError) {
        defer { reset() }
        _ = try step()
    }
}
