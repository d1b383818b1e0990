import Glibc
import HoldfastCore

/// Blocks until `fd` is ready for `events` (POLLIN, POLLOUT), for the bench's few blocking clients (admin
/// requests, the presence probe); throws `late` once `deadline` (monotonic nanoseconds) has passed.
func pollWait(_ fd: Int32, for events: Int16, until deadline: UInt64, late: @autoclosure () -> String) throws(BenchError) {
    while true {
        let now = MonotonicClock.nowNanoseconds()
        guard now < deadline else { throw BenchError(late()) }
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        let ready = poll(&descriptor, 1, Int32(min((deadline - now) / 1_000_000 + 1, 60_000)))
        if ready > 0 { return }
        if ready < 0, errno != EINTR { throw BenchError("poll: \(SystemError("poll"))") }
    }
}
