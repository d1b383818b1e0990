import Glibc

/// A counting semaphore for blocking one thread until another signals it (POSIX `sem_t`).
///
/// The server's threads never block on each other in normal operation; a binary upgrade is the exception: the
/// coordinating thread waits for every loop to export its state, and each loop then waits, frozen, for the
/// verdict (commit or roll back).
public final class ThreadSemaphore: @unchecked Sendable {
    // sem_t must not move once initialized, so it lives in its own allocation.
    private let handle: UnsafeMutablePointer<sem_t>

    /// Creates a semaphore with `value` permits.
    public init(value: UInt32 = 0) {
        handle = .allocate(capacity: 1)
        sem_init(handle, 0, value)
    }

    deinit {
        sem_destroy(handle)
        handle.deallocate()
    }

    /// Adds one permit, waking one waiter.
    public func signal() {
        sem_post(handle)
    }

    /// Takes one permit, waiting for it at most `timeoutMilliseconds` (negative: no limit). Returns false on
    /// timeout.
    @discardableResult
    public func wait(timeoutMilliseconds: Int = -1) -> Bool {
        if timeoutMilliseconds < 0 {
            while sem_wait(handle) != 0 {}  // only EINTR
            return true
        }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let nanoseconds = Int(deadline.tv_nsec) + (timeoutMilliseconds % 1000) * 1_000_000
        deadline.tv_sec += timeoutMilliseconds / 1000 + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        while sem_timedwait(handle, &deadline) != 0 {
            if errno == ETIMEDOUT { return false }
        }
        return true
    }
}
