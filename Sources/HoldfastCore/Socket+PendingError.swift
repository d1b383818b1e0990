import Glibc

extension Socket {
    /// The error pending on a socket (`SO_ERROR`, cleared by reading it), 0 if none: how a connection that is not
    /// reading learns that its peer reset it, since epoll keeps reporting `EPOLLERR` until the fd is closed.
    public static func pendingError(_ fd: Int32) -> Int32 {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return errno }
        return error
    }
}
