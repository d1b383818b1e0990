extension Array where Element == UInt8 {
    /// After one gathering write of `self[offset...]` followed by `parts`, of which only the first `written` bytes
    /// went out: keeps the unwritten rest queued in `self`, from `offset` (the written part of `self` is dropped
    /// when the write reached past it).
    public mutating func keepUnwritten(_ written: Int, offset: inout Int, then parts: [UInt8]...) {
        let queued = count - offset
        var skip = written - queued
        if skip < 0 {
            offset += written
            skip = 0
        } else {
            removeAll(keepingCapacity: true)
            offset = 0
        }
        for part in parts {
            if skip < part.count { append(contentsOf: part[skip...]) }
            skip = Swift.max(0, skip - part.count)
        }
    }
}

extension Array where Element == UInt8 {
    /// A drained output buffer up to this many bytes keeps its storage for the next message (an echo, a reply).
    @inlinable public static var keptOutputCapacity: Int { 256 }

    /// Empties an output buffer whose bytes are all written. Its storage is kept for the next message only when it
    /// is this connection's own (not `shared`) and at most `keptCapacity` bytes; a larger one is released at once.
    ///
    /// Why at once: a buffer kept until the connection goes quiet outlives the burst that grew it. During a join
    /// burst every member's buffer grows to hold a compressed presence diff, between the members joining
    /// meanwhile; freed afterwards, those buffers leave free chunks on pages that live members share, which no
    /// trim gives back (0.3 KiB per member at 19,000). Released as soon as they drain, one loop turn's buffers are
    /// freed together and the next turn reuses the same memory.
    @inlinable
    public mutating func removeAllWritten(
        keepingCapacityUpTo keptCapacity: Int = keptOutputCapacity, shared: Bool = false
    ) {
        removeAll(keepingCapacity: !shared && capacity <= keptCapacity)
    }
}
