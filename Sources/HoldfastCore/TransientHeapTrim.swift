/// Trims the heap once a burst of large transient buffers is over: large transient output (a presence_state for
/// thousands of members, a slow reader's backlog) leaves freed pages that glibc keeps mapped; after enough of them,
/// give them back so idle memory stays small.
///
/// Only once the burst is over (a whole sweep interval released nothing): trimming in the middle of one hands back
/// pages the next buffers fault straight in again, and zeroing those pages cost more than half the server's CPU in
/// a 19,000-member join burst.
///
/// Thread ownership: one loop's thread.
public struct TransientHeapTrim: Sendable {
    /// Bytes of large transient output (buffers released, large bodies written) since the last trim: a burst leaves
    /// freed heap behind even when its largest buffers never reached a queue.
    public var bytes = 0
    /// `bytes` at the previous sweep: trimming waits until a sweep interval added nothing.
    private var bytesAtLastSweep = 0

    public init() {}

    /// Called every sweep: trims when more than 1 MiB was released and nothing since the previous sweep.
    public mutating func sweep() {
        defer { bytesAtLastSweep = bytes }
        guard bytes > 1 << 20, bytes == bytesAtLastSweep else { return }
        bytes = 0
        Heap.trim()
    }
}
