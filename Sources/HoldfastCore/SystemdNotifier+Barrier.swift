import CHoldfast
import Glibc

extension SystemdNotifier {
    /// Waits until systemd has processed every notification sent before it (`sd_notify_barrier`).
    ///
    /// Sends `BARRIER=1` with one end of a fresh socket pair attached and waits for the other end to report that
    /// every copy of the attached end is closed, which systemd does once it has handled the message, and with it
    /// all earlier ones on the socket. A binary upgrade uses this in the new process after `MAINPID=`: once it
    /// returns, systemd knows the new main PID, so the old process may exit without its exit being taken for
    /// the service's end. systemd versions that predate barriers close the attached fd all the same.
    /// - Returns: false when notifications are disabled (nothing was sent), true once systemd has caught up.
    /// - Throws: ``SystemdNotifierError/barrierTimeout`` when systemd did not answer in time, or a failed call.
    @discardableResult
    public func barrier(timeoutMilliseconds: Int32 = 5000) throws(SystemdNotifierError) -> Bool {
        guard let socketPath else { return false }
        var ends: [Int32] = [-1, -1]
        // A socket pair rather than a pipe: created close-on-exec in one call (Glibc's module lacks pipe2), so
        // a process started by a concurrent upgrade cannot inherit the far end and hold the barrier open.
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &ends) == 0 else { throw .system(SystemError("socketpair")) }
        defer { Socket.close(ends[0]) }
        do {
            defer { Socket.close(ends[1]) }  // only systemd's copy may keep the pair open
            let fd = try Self.connectedSocket(to: socketPath)
            defer { Socket.close(fd) }
            try Self.sendWithFd(Array("BARRIER=1".utf8), fd: ends[1], on: fd)
        }
        var entry = pollfd(fd: ends[0], events: 0, revents: 0)  // POLLHUP is always reported
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        while true {
            let left = Int32(clamping: max(0, deadline - MonotonicClock.nowMilliseconds()))
            let ready = poll(&entry, 1, left)
            if ready > 0 { return true }
            if ready == 0 { throw .barrierTimeout }
            if errno != EINTR { throw .system(SystemError("poll")) }
        }
    }

    /// One datagram with `fd` attached (`SCM_RIGHTS`), waiting for room when systemd's queue is full.
    private static func sendWithFd(
        _ bytes: [UInt8], fd attached: Int32, on socket: Int32
    ) throws(SystemdNotifierError) {
        var fds = [attached]
        while true {
            let sent = bytes.withUnsafeBytes { holdfast_send_fds(socket, $0.baseAddress, $0.count, &fds, 1) }
            if sent >= 0 { return }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK:  // the helper never blocks; wait for room as a blocking send would
                var entry = pollfd(fd: socket, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, 1000)
            default: throw .system(SystemError("sendmsg"))
            }
        }
    }
}
