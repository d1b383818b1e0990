/// The handoff streams (``HandoffWriter``, each ended by END); the first byte of a record names its kind.
///
/// 1. **Staging**, sent while the old process still serves: one record per listening socket and one per
///    connection (a copy of its state as it was then, keyed by the old process's fd number), each with its fd,
///    and each room's presence. The new process builds everything from it and answers STAGED.
/// 2. **Catch-up** rounds, still serving: the connections that changed since the previous round and the keys of
///    those closed since (the same records as in the final stream), answered STAGED again.
/// 3. **Final**, sent during the pause: the ``HandoffHeader``, a record for each connection whose state changed
///    since it was staged (or that was not staged; that one carries its fd), the keys of the staged connections
///    closed meanwhile, and one record per room (with its presence only if that changed since staging).
///
/// When the new process accepts ``HandoffFeatures/stagedRoomValues`` in READY, staging also carries each room's
/// members' assigns and messages' authors, and the final stream's rooms only the assigns and authors that changed
/// since (``stagedRoomValuesRecord``, ``roomChangesRecord``); otherwise rooms travel as older builds read them.
///
/// When it accepts ``HandoffFeatures/stagedConnectionOutput``, a staged connection whose only change since is output
/// (a broadcast queued, a TLS record sealed, a partial write) goes in a catch-up round or the final stream as its
/// output alone (``connectionOutputRecord``), not whole. When it also accepts
/// ``HandoffFeatures/stagedConnectionProgress``, one whose change is no more than reading (input received, a
/// heartbeat's time, the rate window) and output goes as that progress (``connectionProgressRecord``).
///
/// So the pause costs in proportion to what changed, not to how many connections there are. Binaries built at
/// different times hand over to each other, so a record's bytes never change without a new ``version``.
public enum HandoffFormat {
    /// Bumped whenever a record layout changes; a new binary refuses a stream it cannot read, and the old one
    /// rolls back. Format 2 adds the history section of room records (edit and delete entries among the pending
    /// messages, the recent messages' authors); a format 1 stream is still read.
    public static let version: UInt64 = 2
    /// The versions this binary reads.
    public static let readable: ClosedRange<UInt64> = 1...2
    /// The final stream's first record: a ``HandoffHeader``.
    public static let headerRecord: UInt8 = 0x48  // "H"
    /// A listening socket: a ``ListenerSnapshot``, with its fd.
    public static let listenerRecord: UInt8 = 0x4C  // "L"
    /// A bare ``ConnectionSnapshot`` (framed by a ``KeyedConnectionRecord`` on the wire).
    public static let connectionRecord: UInt8 = 0x43  // "C"
    /// A room at rest: a ``RoomSnapshot``.
    public static let roomRecord: UInt8 = 0x52  // "R"
    /// A connection copied during staging: a ``KeyedConnectionRecord``, with its fd.
    public static let stagedConnectionRecord: UInt8 = 0x53  // "S"
    /// A connection changed since staging (with its fd only if it was not staged): a ``KeyedConnectionRecord``.
    public static let finalConnectionRecord: UInt8 = 0x46  // "F"
    /// The keys of staged connections closed since: a ``ClosedKeysRecord``.
    public static let closedKeysRecord: UInt8 = 0x4B  // "K"
    /// A room's presence as staged: a ``StagedRoom``.
    public static let stagedRoomRecord: UInt8 = 0x72  // "r"
    /// A room's presence, members' assigns and messages' authors as staged: a ``StagedRoom`` (only to a new
    /// process that accepted ``HandoffFeatures/stagedRoomValues``).
    public static let stagedRoomValuesRecord: UInt8 = 0x76  // "v"
    /// A room at rest whose assigns and authors are the changes since its ``stagedRoomValuesRecord``: a
    /// ``RoomSnapshot`` (only after such a staging).
    public static let roomChangesRecord: UInt8 = 0x64  // "d"
    /// A staged connection's output since staging, applied to its staged copy: a ``ConnectionOutput`` (only to a
    /// new process that accepted ``HandoffFeatures/stagedConnectionOutput``).
    public static let connectionOutputRecord: UInt8 = 0x6F  // "o"
    /// A staged connection's output, unprocessed input and session clocks since staging, applied to its staged
    /// copy: a ``ConnectionProgress`` (only to a new process that accepted
    /// ``HandoffFeatures/stagedConnectionProgress``).
    public static let connectionProgressRecord: UInt8 = 0x70  // "p"
}
