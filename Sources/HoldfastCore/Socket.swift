public import CHoldfast
import Glibc

/// Plain functions over socket file descriptors. Every fd Holdfast opens is non-blocking and close-on-exec, so
/// a binary upgrade passes exactly the fds it means to (by SCM_RIGHTS) and nothing leaks through `exec`.
public enum Socket {
    /// Opens a listening TCP socket on `address` with `SO_REUSEADDR`, and `SO_REUSEPORT` when `reusePort`
    /// (one listener per event loop, the kernel spreads connections between them).
    public static func listen(on address: SocketAddress, backlog: Int32 = 4096, reusePort: Bool) throws -> Int32 {
        let fd = Glibc.socket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            try passNoDelayToAccepted(fd)
            try address.withSockAddr { pointer, length in
                guard bind(fd, pointer, length) == 0 else { throw SystemError("bind(\(address))") }
            }
            guard Glibc.listen(fd, backlog) == 0 else { throw SystemError("listen(\(address))") }
            return fd
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// `count` listening sockets on `address`, all with `SO_REUSEPORT` (one per event loop); port 0 is resolved by
    /// the first bind and reused for the rest. On failure none stays open.
    public static func listenSharingPort(on address: SocketAddress, count: Int) throws -> [Int32] {
        var fds: [Int32] = []
        var address = address
        do {
            for _ in 0..<count {
                let fd = try listen(on: address, reusePort: true)
                fds.append(fd)
                if address.port == 0 { address.port = try SocketAddress.local(of: fd).port }
            }
        } catch {
            fds.forEach(close)
            throw error
        }
        return fds
    }

    /// Accepts one connection as a non-blocking, close-on-exec fd. It has `TCP_NODELAY` when the listener has it
    /// (see ``passNoDelayToAccepted(_:)``): Linux copies the option into every socket a listener accepts.
    @inline(__always)
    public static func accept(_ listener: Int32) -> IOResult<Int32> {
        retryingInterrupts("accept4") { holdfast_accept(listener) }
    }

    /// Sets `TCP_NODELAY` on a listening socket, so that every connection it accepts has it from the start: small
    /// WebSocket frames must not wait for Nagle's algorithm, and setting it once here saves a `setsockopt` per
    /// connection. ``listen(on:backlog:reusePort:)`` does it; a listener received from another process (which may
    /// have set the option on each accepted socket instead) needs it once.
    public static func passNoDelayToAccepted(_ listener: Int32) throws(SystemError) {
        try setOption(listener, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// Reads from the socket `fd` into `buffer` (`recv`: see `holdfast_recv`); `.done(0)` means the peer closed its
    /// side.
    ///
    /// Inlinable, with the errno handling out of line: the echo's read and write then come down to the system
    /// call itself in the caller, with no function of their own to enter (and registers to save) per call.
    @inlinable @inline(__always)
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult<Int> {
        while true {
            let count = holdfast_recv(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return .done(count) }
            if let outcome: IOResult<Int> = failure("recv") { return outcome }
        }
    }

    /// Writes as much of `bytes` as the kernel takes now, without raising `SIGPIPE`.
    ///
    /// `beforeShutdown`: the caller shuts down its write side (`shutdown(SHUT_WR)`) as soon as all of `bytes` is
    /// written, so the kernel may hold them back for it (`MSG_MORE`): the bytes and the FIN then leave in one
    /// segment, where they took two, each acknowledged by the peer. The shutdown sends what is held; so does the
    /// peer's acknowledgement of anything in flight when the write is partial, and so does a close.
    @inlinable @inline(__always)
    public static func write(
        _ fd: Int32, _ bytes: UnsafeRawBufferPointer, beforeShutdown: Bool = false
    ) -> IOResult<Int> {
        while true {
            let count = holdfast_send(fd, bytes.baseAddress, bytes.count, beforeShutdown ? 1 : 0)
            if count >= 0 { return .done(count) }
            if let outcome: IOResult<Int> = failure("send") { return outcome }
        }
    }

    /// What a system call that returned -1 means, from errno, as ``retryingInterrupts(_:_:)`` decides it; nil for
    /// an interrupted call, to be made again.
    @usableFromInline @inline(never)
    static func failure<T>(_ call: StaticString) -> IOResult<T>? {
        let code = errno
        switch code {
        case EINTR: return nil
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        default: return .failed(SystemError("\(call)", code: code))
        }
    }

    /// Writes as much of `first`, `second` and `third`, in order, as the kernel takes now, in one system call and
    /// without raising `SIGPIPE`; returns the bytes written over all parts. Empty parts are skipped, and a single
    /// part left is written with `send`: the vectors live on the stack, so a write allocates nothing (every
    /// WebSocket handshake's answer goes out here).
    public static func write(
        _ fd: Int32, gathering first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer,
        _ third: UnsafeRawBufferPointer
    ) -> IOResult<Int> {
        var vectors = (iovec(), iovec(), iovec())
        return withUnsafeMutableBytes(of: &vectors) { raw in
            let vector = raw.bindMemory(to: iovec.self)
            var count = 0
            func add(_ part: UnsafeRawBufferPointer) {
                guard !part.isEmpty else { return }
                let base = UnsafeMutableRawPointer(mutating: part.baseAddress)
                vector[count] = iovec(iov_base: base, iov_len: part.count)
                count += 1
            }
            add(first)
            add(second)
            add(third)
            if count <= 1 {
                let only = vector[0]
                let length = count == 0 ? 0 : only.iov_len
                return retryingInterrupts("send") { Glibc.send(fd, only.iov_base, length, Int32(MSG_NOSIGNAL)) }
            }
            var message = msghdr()
            message.msg_iov = vector.baseAddress
            message.msg_iovlen = count
            return retryingInterrupts("sendmsg") { Glibc.sendmsg(fd, &message, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Writes all of `bytes` to a non-blocking socket, waiting for room at most `timeoutMilliseconds` in total;
    /// returns whether everything was written. For the rare write outside an event loop (a last answer before
    /// the process exits).
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], timeoutMilliseconds: Int) -> Bool {
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { write(fd, UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch result {
            case .done(let count):
                offset += count
            case .wouldBlock:
                let left = deadline - MonotonicClock.nowMilliseconds()
                guard left > 0 else { return false }
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, Int32(left))
            case .failed:
                return false
            }
        }
        return true
    }

    /// Closes an fd. A close is never retried: on Linux the fd is released even when `close` reports `EINTR`.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Sets an integer socket option.
    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SystemError("setsockopt(\(name))")
        }
    }

    /// Shrinks the kernel's send and receive buffers of a connection (memory per idle connection).
    public static func setBufferSizes(_ fd: Int32, send: Int32?, receive: Int32?) {
        if let send { try? setOption(fd, SOL_SOCKET, SO_SNDBUF, send) }
        if let receive { try? setOption(fd, SOL_SOCKET, SO_RCVBUF, receive) }
    }
}
