/// # HoldfastHistory
///
/// Durable chat history for Holdfast rooms, kept in one SQLite database (`STATE_DIR/history.sqlite3`).
///
/// **Contract.** Each room actor numbers its messages with per-room increasing ids, starting after
/// ``HistoryStore/lastID(room:)``. It batches the messages that arrived in one loop iteration and hands
/// them to ``HistoryStore/append(_:)``; only when that returns does it send the senders their "ok"
/// replies, so an acknowledged message survives a process crash, a restart and (with `synchronous=FULL`)
/// a power loss. Each room keeps its newest `keepPerRoom` messages; a client joining with `last_seen_id`
/// gets ``HistoryStore/messages(room:after:limit:)``, whose `complete` flag says whether anything it
/// missed was trimmed away (the server then replies `"recovered": false`).
///
/// **Errors** are ``HistoryError`` values whose descriptions say what the operator should do.
///
/// **Threads.** A ``HistoryStore`` is used from one thread at a time (the history thread or the room
/// actor's executor); SQLite is opened with `SQLITE_OPEN_NOMUTEX` and statements are reused.
///
/// **Performance.** One transaction and one WAL fsync per batch (group commit), so the cost of an
/// `append` is dominated by the fsync, not by the number of messages in it.

/// One history entry as stored and replayed: a chat message, or an edit or a delete of an earlier one. History is
/// append-only; an edit or a delete names the message it changes in ``target``.
public struct StoredMessage: Sendable, Equatable {
    /// What an entry is; the raw value is the `kind` column.
    public enum Kind: Int64, Sendable, Equatable {
        case message = 0
        case edit = 1
        case delete = 2
    }

    /// The room (Phoenix topic) the message was sent to.
    public var room: String
    /// The per-room id, strictly increasing within `room`, assigned by the room actor.
    public var id: Int64
    /// The sender's user id (from the verified connect token).
    public var user: String
    /// The message body exactly as the client sent it (usually JSON text).
    public var body: String
    /// When the server accepted the message, in milliseconds since the Unix epoch.
    public var timestamp: Int64
    /// The client's own id for the message, echoed back so it can match its "ok" reply; optional.
    public var clientID: String?
    /// A message, an edit or a delete.
    public var kind: Kind
    /// The message an edit or a delete changes; 0 for a message.
    public var target: Int64

    /// Creates an entry.
    ///
    /// - Parameters:
    ///   - room: The room the message belongs to.
    ///   - id: Its per-room id.
    ///   - user: The sender's user id.
    ///   - body: The message body.
    ///   - timestamp: Milliseconds since the Unix epoch.
    ///   - clientID: The client's own id for the message, if it sent one.
    ///   - kind: A message (the default), an edit or a delete.
    ///   - target: For an edit or a delete, the id of the message it changes.
    public init(
        room: String, id: Int64, user: String, body: String, timestamp: Int64, clientID: String? = nil,
        kind: Kind = .message, target: Int64 = 0
    ) {
        self.room = room
        self.id = id
        self.user = user
        self.body = body
        self.timestamp = timestamp
        self.clientID = clientID
        self.kind = kind
        self.target = target
    }
}
