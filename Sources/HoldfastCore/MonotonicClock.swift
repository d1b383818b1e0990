import Glibc

/// Milliseconds on the monotonic clock: immune to wall-clock jumps, used for every deadline in the reactor.
public enum MonotonicClock {
    /// Milliseconds since an arbitrary fixed point (boot).
    @inline(__always)
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// Nanoseconds since the same fixed point, for latency measurements.
    @inline(__always)
    public static func nowNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Checks `condition` every 100 µs until it holds (true) or `timeoutMilliseconds` pass (false): for a thread
    /// that may block, such as a binary upgrade's, waiting on another thread's progress.
    public static func poll(timeoutMilliseconds: Int64, until condition: () -> Bool) -> Bool {
        let deadline = nowMilliseconds() + timeoutMilliseconds
        while !condition() {
            guard nowMilliseconds() < deadline else { return false }
            usleep(100)
        }
        return true
    }
}
