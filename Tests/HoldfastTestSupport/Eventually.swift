import Glibc
import HoldfastCore

/// Polls `condition` every 5 ms until it holds or `timeout` ms pass.
public func eventually(timeout: Int64 = 10_000, _ condition: () -> Bool) -> Bool {
    let deadline = MonotonicClock.nowMilliseconds() + timeout
    while MonotonicClock.nowMilliseconds() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}
