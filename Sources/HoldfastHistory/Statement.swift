internal import CSQLite

/// A prepared SQLite statement owned by a ``HistoryStore`` and reused for every call.
///
/// Only bound parameters carry values into SQL, so room names and bodies are stored verbatim.
/// Not thread-safe; the owning store's single-thread rule applies.
struct Statement {
    /// The `sqlite3_stmt *`, finalized by ``finalize()``.
    let handle: OpaquePointer
    /// The SQL text, for error messages.
    let sql: String

    /// Compiles `sql` against `db`.
    static func prepare(_ sql: String, in db: OpaquePointer) throws(HistoryError) -> Statement {
        var handle: OpaquePointer?
        let code = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard code == SQLITE_OK, let handle else {
            throw .sqlite(code: code, message: String(cString: sqlite3_errmsg(db)), during: "preparing \(sql)")
        }
        return Statement(handle: handle, sql: sql)
    }

    /// Clears bindings and state so the statement can run again; cheap, keeps the compiled plan.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds a 64-bit integer to the 1-based parameter `index`.
    func bind(_ value: Int64, at index: Int32) throws(HistoryError) {
        try check(sqlite3_bind_int64(handle, index, value), "binding parameter \(index)")
    }

    /// Binds text (or NULL for `nil`) to the 1-based parameter `index`, copying the bytes.
    ///
    /// The UTF-8 length is passed explicitly so text with embedded NUL bytes is kept whole.
    func bind(_ value: String?, at index: Int32) throws(HistoryError) {
        guard var text = value else {
            try check(sqlite3_bind_null(handle, index), "binding parameter \(index)")
            return
        }
        let code = text.withUTF8 { utf8 -> Int32 in
            // An empty buffer may have no base address, and a NULL pointer would bind SQL NULL.
            guard let start = utf8.baseAddress, !utf8.isEmpty else {
                return sqlite3_bind_text(handle, index, "", 0, holdfast_sqlite_transient())
            }
            return start.withMemoryRebound(to: CChar.self, capacity: utf8.count) { chars in
                sqlite3_bind_text(handle, index, chars, Int32(utf8.count), holdfast_sqlite_transient())
            }
        }
        try check(code, "binding parameter \(index)")
    }

    /// Advances one step; `true` when a row is available, `false` when done.
    func step() throws(HistoryError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let db = sqlite3_db_handle(handle)
            throw .sqlite(
                code: sqlite3_extended_errcode(db), message: String(cString: sqlite3_errmsg(db)),
                during: "running \(sql)")
        }
    }

    /// The 0-based column `index` of the current row as an integer.
    func int64(at index: Int32) -> Int64 {
        sqlite3_column_int64(handle, index)
    }

    /// The 0-based column `index` of the current row as text, or `nil` for SQL NULL.
    func text(at index: Int32) -> String? {
        guard sqlite3_column_type(handle, index) != SQLITE_NULL else { return nil }
        // Ask for the text before its length, as the SQLite docs require.
        guard let bytes = sqlite3_column_text(handle, index) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, index))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Releases the compiled statement; the value must not be used afterwards.
    func finalize() {
        sqlite3_finalize(handle)
    }

    private func check(_ code: Int32, _ during: String) throws(HistoryError) {
        guard code == SQLITE_OK else {
            let db = sqlite3_db_handle(handle)
            throw .sqlite(code: code, message: String(cString: sqlite3_errmsg(db)), during: "\(during) of \(sql)")
        }
    }
}
