import CHoldfast
import Glibc

/// Waits for process signals on a signalfd, so signal handling is ordinary code on one thread.
public final class SignalWaiter: Sendable {
    private let fd: Int32

    /// Blocks SIGTERM, SIGINT, SIGUSR2 and SIGHUP in the calling thread (inherited by threads started later) and
    /// opens a signalfd for them. Call before starting any thread. Also ignores SIGPIPE.
    public init() throws(SystemError) {
        signal(SIGPIPE, SIG_IGN)
        let fd = holdfast_signalfd()
        guard fd >= 0 else { throw SystemError("signalfd") }
        self.fd = fd
    }

    /// Blocks until a signal arrives and returns its number.
    public func wait() -> Int32 {
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, -1)
            let signal = holdfast_signalfd_read(fd)
            if signal != 0 { return signal }
        }
    }
}
