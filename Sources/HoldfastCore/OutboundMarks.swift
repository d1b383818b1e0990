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
    private var first = 0
    /// Bytes written since the queue was last empty.
    public private(set) var written = 0

    /// A message is being queued behind `pending` unwritten bytes.
    public mutating func messageQueued(behind pending: Int) {
        guard pending > 0 else { return }
        if first > 64 && first * 2 > starts.count {
            starts.removeFirst(first)
            first = 0
        }
        starts.append(written + pending)
    }

    /// `count` bytes left for the socket.
    public mutating func wrote(_ count: Int) { written += count }

    /// Everything queued was written: positions start over.
    public mutating func drained() {
        if !starts.isEmpty { starts.removeAll(keepingCapacity: starts.capacity <= 32) }
        first = 0
        written = 0
    }

    /// Gives back the storage of an idle connection.
    public mutating func releaseMemory() {
        if starts.isEmpty && starts.capacity > 0 { starts = [] }
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
