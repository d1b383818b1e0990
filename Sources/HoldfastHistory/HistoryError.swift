/// Why a ``HistoryStore`` operation failed; each description says what to do about it.
public enum HistoryError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The database file could not be opened or set up (missing directory, permissions, not a database).
    case cannotOpen(path: String, reason: String)
    /// SQLite reported an error (`code` is the extended result code) while doing `during`.
    case sqlite(code: Int32, message: String, during: String)
    /// A message's id is not above the last id of its room (stored, trimmed or earlier in the batch);
    /// the room actor's numbering is out of step with the store.
    case idNotIncreasing(room: String, id: Int64, lastID: Int64)
    /// The database was written by a newer Holdfast with a schema this build does not know.
    case unsupportedSchema(found: Int64, supported: Int64)
    /// `keepPerRoom` was below 1.
    case invalidKeepPerRoom(Int)
    /// The store was used after ``HistoryStore/close()``.
    case closed

    /// A one-line explanation with the next step for the operator.
    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            return "cannot open history database \(path): \(reason); "
                + "check that state_dir exists and is writable by the Holdfast user"
        case .sqlite(let code, let message, let during):
            return "history database error \(code) while \(during): \(message); "
                + "check free disk space and the state_dir file system, then restart Holdfast"
        case .idNotIncreasing(let room, let id, let lastID):
            return "message id \(id) for room \(room) is not above its last id \(lastID); "
                + "room ids must continue after HistoryStore.lastID(room:) — this is a Holdfast bug, please report it"
        case .unsupportedSchema(let found, let supported):
            return "history database schema version \(found) is newer than this Holdfast supports (\(supported)); "
                + "run the newer Holdfast or point state_dir elsewhere"
        case .invalidKeepPerRoom(let value):
            return "history keep-per-room is \(value); set it to 1 or more"
        case .closed:
            return "the history store was used after close(); this is a Holdfast bug, please report it"
        }
    }
}
