import CHoldfast

/// The process heap.
public enum Heap {
    /// Gives freed heap pages back to the kernel. glibc keeps freed memory mapped for reuse; after a burst of
    /// large transient buffers that memory would otherwise count against every idle connection.
    public static func trim() {
        _ = holdfast_malloc_trim()
    }

    /// Bytes the allocator holds free in all its arenas, resident or not.
    public static var freeBytes: Int { Int(holdfast_heap_free_bytes()) }
}

/// Gives memory back after any burst, whatever allocated it: ``tick()`` (from one thread, every sweep) trims the
/// heap once the allocator's free bytes have stayed at least `threshold` above their lowest point since the last
/// trim for two checks in a row.
///
/// Why: glibc keeps freed chunks of every thread's arena resident. A stalled client, a handler swap or a binary
/// upgrade's staging leave several MiB freed in the event loops' arenas; with steady traffic no connection is ever
/// idle long enough to release its own buffers, so that memory stayed resident for the life of the process (a
/// soak showed a process 14 MiB above its peers, all of it freed heap that `malloc_trim` returned). Free bytes
/// are the direct measure; the lowest point matters because chunks reused and freed again are resident again.
/// Waiting for a second check skips memory that traffic is about to reuse (trimming it would only fault fresh
/// pages back in).
///
/// Thread ownership: one thread (a loop's sweep).
public final class HeapWatch: @unchecked Sendable {
    private let threshold: Int
    private let ticksPerCheck: Int
    private var ticks = 0
    private var lowestFree: Int?
    private var grewAtLastCheck = false
    /// Trims so far, for logs and tests.
    public private(set) var trims = 0

    /// - Parameters:
    ///   - threshold: free bytes above the lowest point that justify a trim (default 4 MiB).
    ///   - ticksPerCheck: ``tick()`` calls per check (4 sweeps of 250 ms: a check a second).
    public init(threshold: Int = 4 << 20, ticksPerCheck: Int = 4) {
        self.threshold = threshold
        self.ticksPerCheck = ticksPerCheck
    }

    /// Counts a sweep; every `ticksPerCheck` of them, checks the heap. Returns the bytes above the lowest point
    /// when it trimmed.
    @discardableResult
    public func tick() -> Int? {
        ticks += 1
        guard ticks >= ticksPerCheck else { return nil }
        ticks = 0
        return check(freeBytes: Heap.freeBytes) { Heap.trim() }
    }

    /// One check against a reading of the free bytes; `trim` gives memory back. Returns the bytes above the lowest
    /// point when it trimmed.
    public func check(freeBytes free: Int, trim: () -> Void) -> Int? {
        let lowest = min(lowestFree ?? free, free)
        lowestFree = lowest
        guard free - lowest >= threshold else {
            grewAtLastCheck = false
            return nil
        }
        guard grewAtLastCheck else {
            grewAtLastCheck = true
            return nil
        }
        trim()
        trims += 1
        grewAtLastCheck = false
        // The free chunks stay free (and counted) after a trim, but their pages are gone: this is the new floor.
        lowestFree = free
        return free - lowest
    }
}
