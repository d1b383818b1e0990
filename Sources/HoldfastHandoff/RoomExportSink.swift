import HoldfastCore
public import HoldfastRooms
import Synchronization

/// Collects the rooms' handoff copies (staging) and snapshots (the pause), which each room adds from its own loop.
public final class RoomExportSink: Sendable {
    private typealias Rooms = (snapshots: [RoomSnapshot], busy: [String], staged: [StagedRoom], count: Int, wanted: Int)
    // Counted under the lock: only the last room awaited wakes the waiter (not one context switch per room).
    private let collected = Mutex<Rooms>(([], [], [], 0, .max))
    private let arrivals = ThreadSemaphore()

    /// An empty sink.
    public init() {}

    /// Called by a room: its snapshot, or nil when it still had messages in flight.
    public func add(_ snapshot: RoomSnapshot?, topic: String) {
        arrived { if let snapshot { $0.snapshots.append(snapshot) } else { $0.busy.append(topic) } }
    }

    /// Called by a room during staging: its presence, assigns and authors.
    public func add(staged: StagedRoom) { arrived { $0.staged.append(staged) } }

    private func arrived(_ add: (inout Rooms) -> Void) {
        if collected.withLock({ add(&$0); $0.count += 1; return $0.count == $0.wanted }) { arrivals.signal() }
    }

    /// Waits for `count` rooms (bounded); nil on timeout.
    public func wait(for count: Int, timeoutMilliseconds: Int) -> (
        snapshots: [RoomSnapshot], busy: [String], staged: [StagedRoom]
    )? {
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        while !collected.withLock({ $0.wanted = count; return $0.count >= count }) {
            let left = Int(deadline - MonotonicClock.nowMilliseconds())
            guard left > 0, arrivals.wait(timeoutMilliseconds: left) else { return nil }
        }
        return collected.withLock { ($0.snapshots, $0.busy, $0.staged) }
    }
}
