import CHoldfast

/// The process heap.
public enum Heap {
    /// Gives freed heap pages back to the kernel. glibc keeps freed memory mapped for reuse; after a burst of
    /// large transient buffers that memory would otherwise count against every idle connection.
    public static func trim() {
        _ = holdfast_malloc_trim()
    }

    /// Resident memory that belongs to this process alone (not file-backed), and the part of the heap in use.
    /// Their difference is resident memory the allocator holds free, plus a steady remainder (stacks, the
    /// runtime's own mappings). Nil when `/proc` cannot be read.
    public static func reading() -> HeapReading? {
        let resident = holdfast_resident_private_bytes()
        guard resident >= 0 else { return nil }
        return HeapReading(residentPrivate: resident, inUse: Int(holdfast_heap_in_use_bytes()))
    }
}

/// One look at the process's memory (see ``Heap/reading()``).
public struct HeapReading: Sendable, Equatable {
    /// Resident bytes not backed by files.
    public var residentPrivate: Int
    /// Heap bytes in use.
    public var inUse: Int
    /// Resident private bytes beyond what the heap uses: free heap kept resident, plus a steady remainder.
    public var slack: Int { residentPrivate - inUse }

    public init(residentPrivate: Int, inUse: Int) {
        self.residentPrivate = residentPrivate
        self.inUse = inUse
    }
}

/// Gives memory back after any burst, whatever allocated it: ``tick()`` (from one thread, every sweep) trims the
/// heap once the resident memory the heap does not use (the slack) has stayed a threshold above its lowest point
/// since the last trim for two checks in a row. The threshold is fixed (`threshold`), or, with
/// `slackPercentOfInUse`, that share of the heap in use, kept between `minimumThreshold` and `threshold`.
///
/// Why: glibc keeps freed chunks resident in every thread's arena. A stalled client, a handler swap or a binary
/// upgrade's staging raise an arena's high-water mark by several MiB; with steady traffic no connection is ever
/// idle long enough to release its own buffers, and new allocations scattered over the freed chunks fault their
/// pages back in even after a trim, so resident memory crept towards the high-water mark (a soak showed a process
/// 14 MiB above its peers, 25 MiB in use in 44 MiB of arenas). The slack measures that directly, and a trim
/// wherever it grew keeps it down. Waiting for a second check skips memory that traffic is about to reuse.
///
/// A share of the heap in use also waits for the heap in use to be quiet (moving less than the threshold between
/// two checks), so a burst is trimmed once it is over. A share: a large process's steady traffic moves more slack between checks than a small one's,
/// while a fixed 4 MiB left a 19,000-member room's burst its freed presence text (1.8 MB of 17 MB in use) for good.
///
/// Thread ownership: one thread (a loop's sweep).
public final class HeapWatch: @unchecked Sendable {
    private let threshold: Int
    private let slackPercentOfInUse: Int
    private let minimumThreshold: Int
    private let ticksPerCheck: Int
    private let onTrim: ((Int) -> Void)?
    private var ticks = 0
    private var lowestSlack: Int?
    private var grewAtLastCheck = false
    private var inUseAtLastCheck: Int?
    /// Trims so far.
    public private(set) var trims = 0

    /// - Parameters:
    ///   - threshold: slack above its lowest point that justifies a trim (default 4 MiB); with a share, its upper
    ///     bound.
    ///   - slackPercentOfInUse: when above 0, the threshold is this percentage of the heap in use at each check,
    ///     at least `minimumThreshold` and at most `threshold`; 0 keeps `threshold` alone.
    ///   - minimumThreshold: the least threshold a share gives (default 1 MiB).
    ///   - ticksPerCheck: ``tick()`` calls per check (4 sweeps of 250 ms: a check a second).
    ///   - onTrim: told the slack given back after every trim ``tick()`` made (for a log line).
    public init(
        threshold: Int = 4 << 20, slackPercentOfInUse: Int = 0, minimumThreshold: Int = 1 << 20, ticksPerCheck: Int = 4,
        onTrim: ((Int) -> Void)? = nil
    ) {
        self.onTrim = onTrim
        self.threshold = threshold
        self.slackPercentOfInUse = max(0, slackPercentOfInUse)
        self.minimumThreshold = min(minimumThreshold, threshold)
        self.ticksPerCheck = ticksPerCheck
    }

    /// The slack growth above its floor that justifies a trim at `reading`.
    public func threshold(at reading: HeapReading) -> Int {
        guard slackPercentOfInUse > 0 else { return threshold }
        let share = reading.inUse / 100 * slackPercentOfInUse
        return min(threshold, max(minimumThreshold, share))
    }

    /// Counts a sweep; every `ticksPerCheck` of them, checks the process's memory. Returns the slack given back
    /// when it trimmed.
    @discardableResult
    public func tick() -> Int? {
        ticks += 1
        guard ticks >= ticksPerCheck else { return nil }
        ticks = 0
        guard let reading = Heap.reading() else { return nil }
        let freed = check(reading) {
            Heap.trim()
            return Heap.reading()
        }
        if let freed { onTrim?(freed) }
        return freed
    }

    /// One check against `reading`; `trim` gives memory back and reads again. Returns the slack given back when
    /// it trimmed.
    public func check(_ reading: HeapReading, trim: () -> HeapReading?) -> Int? {
        let lowest = min(lowestSlack ?? reading.slack, reading.slack)
        lowestSlack = lowest
        let limit = threshold(at: reading)
        // With a share, only a quiet heap is trimmed: in the middle of a burst (the heap in use still moving by
        // the share or more a check) a trim hands back pages the burst faults straight in again.
        let moving = slackPercentOfInUse > 0 && abs(reading.inUse - (inUseAtLastCheck ?? 0)) >= limit
        inUseAtLastCheck = reading.inUse
        guard reading.slack - lowest >= limit, !moving else {
            grewAtLastCheck = false
            return nil
        }
        guard grewAtLastCheck else {
            grewAtLastCheck = true
            return nil
        }
        grewAtLastCheck = false
        trims += 1
        let after = trim() ?? reading
        // What stays after a trim (stacks, pages still partly in use) is the new floor.
        lowestSlack = after.slack
        return reading.slack - after.slack
    }
}
