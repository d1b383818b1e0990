import CHoldfast
import Glibc
public import HoldfastCore
import Synchronization

/// One end of a handoff channel: a `SOCK_SEQPACKET` Unix socket pair, message boundaries preserved.
///
/// A binary upgrade uses it to hand every live socket to a freshly started process: the old process calls
/// ``makePair()``, lets the new process inherit one end, and sends messages of state bytes with fds attached
/// (`SCM_RIGHTS`); the new process wraps the inherited fd with ``init(adopting:)``. For a stream of many
/// connections use ``HandoffWriter`` and ``HandoffReader`` on top.
///
/// Each message carries one header byte ahead of the payload, so a zero-length read always means end of stream
/// (a `SOCK_SEQPACKET` socket would otherwise report an empty message and EOF alike).
///
/// Every call works whether or not the fd is non-blocking (it uses `MSG_DONTWAIT` and waits with `poll`), and
/// retries on `EINTR`. One thread may send while another receives on the same end; the class is `Sendable`.
public final class HandoffChannel: Sendable {
    /// The environment variable that names the channel's fd in the process a binary upgrade starts; its presence
    /// puts `holdfast serve` in takeover mode.
    public static let inheritedFDVariable = "HOLDFAST_HANDOFF_FD"

    /// The most fds one message may carry: the kernel's `SCM_MAX_FD` (254 gives `EINVAL` from `sendmsg`).
    public static let maxFdsPerMessage = Int(HOLDFAST_MAX_FDS_PER_MESSAGE)

    /// The largest payload of one message: 128 KiB.
    ///
    /// A `SOCK_SEQPACKET` message must fit whole into the sender's socket send buffer (`EMSGSIZE` otherwise).
    /// The Linux default buffer (`net.core.wmem_default`, 208 KiB) holds 128 KiB with room for the kernel's
    /// overhead, and ``makePair()`` also asks for a larger buffer, so the cap holds without any sysctl tuning.
    /// With 253 fds per message it leaves about 500 bytes of state per connection before a batch is split by
    /// bytes rather than by fds; ``HandoffWriter`` splits larger per-connection state over several messages.
    public static let maxPayload = 128 * 1024

    /// The first byte of every message on the wire; anything else is refused as malformed.
    static let header: UInt8 = 0x48

    private let descriptor: Atomic<Int32>

    /// The underlying socket, or -1 after ``close()``.
    public var fd: Int32 { descriptor.load(ordering: .acquiring) }

    /// Creates a connected pair: `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)`. Both ends are
    /// close-on-exec; clear the flag (or `dup2` it in the child) on the end the new process inherits.
    public static func makePair() throws(SystemError) -> (HandoffChannel, HandoffChannel) {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw SystemError("socketpair") }
        // Best effort: room for one full message plus the kernel's per-message overhead. The kernel doubles
        // the value and caps it at net.core.wmem_max; the default buffer already holds a full message.
        for fd in fds { try? Socket.setOption(fd, SOL_SOCKET, SO_SNDBUF, Int32(maxPayload + 64 * 1024)) }
        return (HandoffChannel(adopting: fds[0]), HandoffChannel(adopting: fds[1]))
    }

    /// Takes ownership of an open `SOCK_SEQPACKET` Unix socket, e.g. the end a new process inherited (its
    /// number passed in an environment variable or argument).
    public init(adopting fd: Int32) {
        descriptor = Atomic(fd)
    }

    deinit {
        let fd = descriptor.load(ordering: .relaxed)
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Closes this end; the peer then sees ``HandoffChannelError/closed``. Later calls on this end throw `.closed`.
    public func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Sends one message: `payload` (at most ``maxPayload`` bytes; larger payloads must be split by the caller,
    /// as ``HandoffWriter`` does) with up to ``maxFdsPerMessage`` fds attached. The fds stay open and owned by
    /// the caller; the receiver gets its own copies.
    ///
    /// Waits with `poll` while the socket buffer is full, for at most `timeoutMilliseconds` (negative: no limit).
    public func send(_ payload: [UInt8], fds: [Int32] = [], timeoutMilliseconds: Int) throws(HandoffChannelError) {
        guard fds.count <= Self.maxFdsPerMessage else { throw .tooManyFds(fds.count) }
        guard payload.count <= Self.maxPayload else { throw .payloadTooLarge(payload.count) }
        let deadline = Deadline(timeoutMilliseconds)
        var message = [UInt8]()
        message.reserveCapacity(payload.count + 1)
        message.append(Self.header)
        message.append(contentsOf: payload)
        while true {
            let socket = fd
            guard socket >= 0 else { throw .closed }
            let result = message.withUnsafeBytes { bytes in
                fds.withUnsafeBufferPointer { fdBuffer in
                    retryingInterrupts("sendmsg") {
                        holdfast_send_fds(
                            socket, bytes.baseAddress, bytes.count, fdBuffer.baseAddress, Int32(fdBuffer.count))
                    }
                }
            }
            switch result {
            case .done(let sent):
                guard sent == message.count else {
                    throw .system(SystemError("sendmsg (short write of \(sent) bytes)", code: EIO))
                }
                return
            case .wouldBlock:
                try wait(for: Int16(POLLOUT), until: deadline)
            case .failed(let error):
                if error.code == EPIPE || error.code == ECONNRESET || error.code == ENOTCONN { throw .closed }
                throw .system(error)
            }
        }
    }

    /// Receives one message with its fds, which arrive close-on-exec (`MSG_CMSG_CLOEXEC`) and belong to the
    /// caller.
    ///
    /// Throws ``HandoffChannelError/truncatedFds(received:)`` when the kernel dropped fds (`MSG_CTRUNC`),
    /// ``HandoffChannelError/truncatedPayload`` on `MSG_TRUNC`, and ``HandoffChannelError/malformed(_:)`` for a
    /// message without the handoff header; in each case every fd of that message is closed before the throw.
    /// Throws ``HandoffChannelError/closed`` at end of stream and ``HandoffChannelError/timeout`` when nothing
    /// arrived within `timeoutMilliseconds` (negative: no limit).
    public func receive(timeoutMilliseconds: Int) throws(HandoffChannelError) -> (payload: [UInt8], fds: [Int32]) {
        let deadline = Deadline(timeoutMilliseconds)
        let capacity = Self.maxPayload + 1
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        var fds = [Int32](repeating: -1, count: Self.maxFdsPerMessage)
        while true {
            let socket = fd
            guard socket >= 0 else { throw .closed }
            var count: Int32 = 0
            var flags: Int32 = 0
            let result = fds.withUnsafeMutableBufferPointer { fdBuffer in
                retryingInterrupts("recvmsg") {
                    holdfast_recv_fds(
                        socket, buffer.baseAddress, capacity, fdBuffer.baseAddress, Int32(fdBuffer.count), &count,
                        &flags)
                }
            }
            switch result {
            case .done(let length):
                let received = Array(fds[0..<Int(count)])
                if flags & HOLDFAST_MSG_CTRUNC != 0 {
                    closeAll(received)
                    throw .truncatedFds(received: received.count)
                }
                if flags & HOLDFAST_MSG_TRUNC != 0 {
                    closeAll(received)
                    throw .truncatedPayload
                }
                if length == 0 {
                    closeAll(received)
                    throw .closed
                }
                guard buffer[0] == Self.header else {
                    closeAll(received)
                    throw .malformed("unknown message header \(buffer[0])")
                }
                let payload = [UInt8](UnsafeRawBufferPointer(rebasing: buffer[1..<length]))
                return (payload, received)
            case .wouldBlock:
                try wait(for: Int16(POLLIN), until: deadline)
            case .failed(let error):
                if error.code == ECONNRESET || error.code == ENOTCONN { throw .closed }
                throw .system(error)
            }
        }
    }

    /// Polls for `events` until the deadline; returns when the socket is ready (or has an error or hang-up for
    /// the next call to report).
    private func wait(for events: Int16, until deadline: Deadline) throws(HandoffChannelError) {
        while true {
            let socket = fd
            guard socket >= 0 else { throw .closed }
            guard let remaining = deadline.remainingMilliseconds() else { throw .timeout }
            var entry = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32(clamping: remaining))
            if ready > 0 { return }
            // Nothing yet (the loop re-checks the deadline) or interrupted by a signal.
            if ready == 0 || errno == EINTR { continue }
            throw .system(SystemError("poll"))
        }
    }
}

/// A deadline on the monotonic clock, or none.
private struct Deadline {
    private let end: Int64?

    init(_ timeoutMilliseconds: Int) {
        end = timeoutMilliseconds < 0 ? nil : MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
    }

    /// Milliseconds left (-1 for no limit, 0 once at the deadline), or nil once it has passed.
    func remainingMilliseconds() -> Int? {
        guard let end else { return -1 }
        let left = end - MonotonicClock.nowMilliseconds()
        return left < 0 ? nil : Int(left)
    }
}

/// Closes every fd in `fds` (fds received for a message that is being discarded).
func closeAll(_ fds: some Sequence<Int32>) {
    for fd in fds { _ = Glibc.close(fd) }
}
