import HoldfastCore
import HoldfastHandoff
import Synchronization

/// Collects the rooms' handoff snapshots, which each room adds from its own loop.
final class RoomExportSink: Sendable {
    private let collected = Mutex<(snapshots: [RoomSnapshot], busy: [String], staged: [StagedRoom])>(([], [], []))
    private let arrivals = ThreadSemaphore()

    /// Called by a room: its snapshot, or nil when it still had messages in flight.
    func add(_ snapshot: RoomSnapshot?, topic: String) {
        collected.withLock {
            if let snapshot { $0.snapshots.append(snapshot) } else { $0.busy.append(topic) }
        }
        arrivals.signal()
    }

    /// Called by a room during staging: its presence.
    func add(staged: StagedRoom) {
        collected.withLock { $0.staged.append(staged) }
        arrivals.signal()
    }

    /// Waits for `count` rooms (bounded); nil on timeout.
    func wait(for count: Int, timeoutMilliseconds: Int) -> (snapshots: [RoomSnapshot], busy: [String], staged: [StagedRoom])? {
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        for _ in 0..<count {
            let left = Int(deadline - MonotonicClock.nowMilliseconds())
            guard left > 0, arrivals.wait(timeoutMilliseconds: left) else { return nil }
        }
        return collected.withLock { $0 }
    }
}
