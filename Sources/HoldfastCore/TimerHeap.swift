/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    let value: UInt64
}

/// A binary min-heap of timers ordered by deadline (then by scheduling order), owned by one event loop.
///
/// Cancellation is lazy: a cancelled id is remembered and its entry dropped when it reaches the top, which keeps
/// both operations O(log n).
struct TimerHeap {
    struct Entry {
        var deadline: Int64
        var id: UInt64
        var body: () -> Void
    }

    private var entries: [Entry] = []
    private var cancelled: Set<UInt64> = []
    private var nextID: UInt64 = 1

    var isEmpty: Bool { entries.count == cancelled.count }

    /// The earliest deadline still pending, if any.
    mutating func nextDeadline() -> Int64? {
        dropCancelledTop()
        return entries.first?.deadline
    }

    @discardableResult
    mutating func schedule(at deadline: Int64, _ body: @escaping () -> Void) -> TimerID {
        let id = nextID
        nextID += 1
        entries.append(Entry(deadline: deadline, id: id, body: body))
        siftUp(entries.count - 1)
        return TimerID(value: id)
    }

    mutating func cancel(_ timer: TimerID) {
        if entries.contains(where: { $0.id == timer.value }) { cancelled.insert(timer.value) }
    }

    /// Removes and returns the bodies of every timer due at `now`, in deadline order.
    mutating func popExpired(now: Int64) -> [() -> Void] {
        var due: [() -> Void] = []
        while true {
            dropCancelledTop()
            guard let top = entries.first, top.deadline <= now else { return due }
            due.append(top.body)
            removeTop()
        }
    }

    private mutating func dropCancelledTop() {
        while let top = entries.first, cancelled.contains(top.id) {
            cancelled.remove(top.id)
            removeTop()
        }
    }

    private mutating func removeTop() {
        let last = entries.removeLast()
        guard !entries.isEmpty else { return }
        entries[0] = last
        siftDown(0)
    }

    private func precedes(_ a: Int, _ b: Int) -> Bool {
        entries[a].deadline < entries[b].deadline
            || (entries[a].deadline == entries[b].deadline && entries[a].id < entries[b].id)
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, precedes(left, smallest) { smallest = left }
            if right < entries.count, precedes(right, smallest) { smallest = right }
            guard smallest != parent else { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
