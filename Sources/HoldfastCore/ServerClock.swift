import Glibc
import Synchronization

/// The time that decides behaviour (deadlines, timeouts, token expiry): the system clocks in production, a
/// ``ManualClock`` in tests, so a test can pass an hour without waiting for it.
///
/// A concrete struct rather than a protocol or a closure: connections read it for every Phoenix frame, and the
/// production path must stay a direct, inlinable `clock_gettime` (no existential, no indirect call). Being
/// injectable costs one predictable branch on ``manual``.
public struct ServerClock: Sendable {
    /// The clock a test moves by hand; nil reads the system clocks.
    @usableFromInline let manual: ManualClock?

    /// `CLOCK_MONOTONIC` and `CLOCK_REALTIME`.
    public static let system = ServerClock(manual: nil)

    /// A clock that reads `clock` and moves only when it is advanced.
    public static func manual(_ clock: ManualClock) -> ServerClock { ServerClock(manual: clock) }

    /// Milliseconds on the monotonic clock (see ``MonotonicClock``); deadlines are on this scale.
    @inlinable @inline(__always)
    public func nowMilliseconds() -> Int64 {
        if let manual { return manual.monotonicMilliseconds }
        return MonotonicClock.nowMilliseconds()
    }

    /// Milliseconds since the Unix epoch on the wall clock (token expiry, message timestamps).
    public func wallMilliseconds() -> Int64 {
        if let manual { return manual.wallMilliseconds }
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

/// A clock that stands still until told to move: both its monotonic and its wall time advance together, by the
/// amount given. Safe to advance from a test thread while loops read it.
public final class ManualClock: Sendable {
    private let monotonic: Atomic<Int64>
    private let wall: Atomic<Int64>

    /// Starts at the given readings (the defaults are far from zero, as real clocks are, so that "0 = no
    /// deadline" conventions are not tripped by accident).
    public init(monotonicMilliseconds: Int64 = 1_000_000_000, wallMilliseconds: Int64 = 1_700_000_000_000) {
        monotonic = Atomic(monotonicMilliseconds)
        wall = Atomic(wallMilliseconds)
    }

    /// The current monotonic reading.
    public var monotonicMilliseconds: Int64 { monotonic.load(ordering: .relaxed) }

    /// The current wall-clock reading.
    public var wallMilliseconds: Int64 { wall.load(ordering: .relaxed) }

    /// Moves both readings forward by `milliseconds`.
    public func advance(byMilliseconds milliseconds: Int64) {
        monotonic.add(milliseconds, ordering: .relaxed)
        wall.add(milliseconds, ordering: .relaxed)
    }
}
