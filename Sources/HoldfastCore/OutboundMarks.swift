/// Where the messages queued behind the one being written start in a connection's output stream, so the
/// slow-consumer check can leave out the message being written: one large message within the message limit must
/// not trip the limit by itself, while a queue that grows behind it does.
///
/// Positions count bytes since the queue was last empty (written plus queued). A message queued while the queue is
/// empty is the one being written and needs no mark, so a connection that keeps up never allocates here.
public struct OutboundMarks: Sendable {
    public init() {}

    /// Start positions of queued messages, oldest first; those before `first` are already being written or done.
    private var starts: [Int] = []
    /// Bytes written since the queue was last empty.
    public private(set) var written = 0
    /// `first`, stored in 32 bits so the marks and the connection's flags share one word: an index into `starts`,
    /// which a queue capped far below 2^31 messages never reaches.
    private var firstIndex: Int32 = 0
    private var first: Int {
        get { Int(firstIndex) }
        set { firstIndex = Int32(clamping: newValue) }
    }
    /// Whether anything was written since the last ``releaseMemoryIfIdle()``.
    private var wroteSinceRelease = false
    /// Whether `starts` may be an array shared with other connections (see ``messagesQueued(behind:ends:)``).
    private var startsShared = false

    /// A message is being queued behind `pending` unwritten bytes.
    public mutating func messageQueued(behind pending: Int) {
        guard pending > 0 else { return }
        // Room for a loop turn's worth of messages at once, rather than regrowing from one.
        if starts.capacity == 0 { starts.reserveCapacity(16) }
        if first > 64 && first * 2 > starts.count {
            starts.removeFirst(first)
            first = 0
        }
        starts.append(written + pending)
    }

    /// Messages that end at `ends` (offsets into the bytes appended) are being queued behind `pending` unwritten
    /// bytes.
    public mutating func messagesQueued(behind pending: Int, ends: [Int]) {
        guard !ends.isEmpty else { return }
        if pending == 0 && written == 0 && starts.isEmpty {
            // The first message is the one being written; the others start where the one before ends, and the
            // mark at the last end (where a later message would start) changes no count. Sharing the caller's
            // array costs a retain, where copying cost an append per message for every connection of a fan-out.
            (starts, first, startsShared) = (ends, 0, true)
            return
        }
        messageQueued(behind: pending)
        if starts.capacity == 0 { starts.reserveCapacity(16) }
        let base = written + pending
        for end in ends.dropLast() { starts.append(base + end) }
    }

    /// `count` bytes left for the socket.
    public mutating func wrote(_ count: Int) {
        written += count
        wroteSinceRelease = true
    }

    /// Everything queued was written: positions start over.
    public mutating func drained() {
        // Emptied in place only when the storage is this connection's own (a shared `ends` array would be copied).
        if !starts.isEmpty { starts.removeAll(keepingCapacity: starts.capacity <= 64 && !startsShared) }
        startsShared = false
        first = 0
        written = 0
        wroteSinceRelease = true
    }

    /// Gives back the storage of a connection that wrote nothing since the last call, and says whether it was idle
    /// so: the caller then releases its output buffers too. A connection that keeps receiving keeps its storage,
    /// instead of regrowing it after every idle sweep.
    public mutating func releaseMemoryIfIdle() -> Bool {
        defer { wroteSinceRelease = false }
        guard !wroteSinceRelease else { return false }
        if starts.isEmpty && starts.capacity > 0 { starts = [] }
        return true
    }

    /// Bytes queued behind the message being written, out of `pending` unwritten bytes.
    public mutating func bytesBehindHead(pending: Int) -> Int {
        while first < starts.count && starts[first] <= written { first += 1 }
        guard first < starts.count else { return 0 }
        return max(0, written + pending - starts[first])
    }

    /// TLS sealed the `plain` application bytes queued from position `from` into `sealed` bytes of records: the
    /// marks inside move by their share of the record overhead (exact at both ends, within the overhead between).
    public mutating func sealed(from: Int, plain: Int, into sealed: Int) {
        guard plain > 0, sealed != plain else { return }
        for index in first..<starts.count where starts[index] > from {
            starts[index] = from + (starts[index] - from) * sealed / plain
        }
    }
}
