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
