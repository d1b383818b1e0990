import CHoldfast
import Glibc
import Synchronization

/// Why a handoff send or receive failed.
public enum HandoffError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The peer closed its end (end of stream on receive, `EPIPE`/`ECONNRESET` on send), or this end was closed.
    case closed
    /// The deadline passed before the message could be sent or before one arrived.
    case timeout
    /// The kernel set `MSG_CTRUNC`: it dropped some of the message's fds, usually because the receiver's
    /// `RLIMIT_NOFILE` was too low (see ``ProcessLimits/raiseFileLimit()``). The `received` fds that did arrive
    /// have already been closed, so the whole message is lost.
    case truncatedFds(received: Int)
    /// The message was larger than ``HandoffChannel/maxPayload`` and its tail was discarded (`MSG_TRUNC`); any
    /// fds it carried have been closed.
    case truncatedPayload
    /// More fds than ``HandoffChannel/maxFdsPerMessage`` were passed to one send; nothing was sent.
    case tooManyFds(Int)
    /// A payload larger than ``HandoffChannel/maxPayload`` was passed to one send; nothing was sent.
    case payloadTooLarge(Int)
    /// A message did not follow the handoff format (unknown header, inconsistent record framing). Any fds it
    /// carried have been closed.
    case malformed(String)
    /// Any other failed system call.
    case system(SystemError)

    public var description: String {
        switch self {
        case .closed: "handoff channel closed"
        case .timeout: "handoff channel timed out"
        case .truncatedFds(let received):
            "handoff message lost fds (MSG_CTRUNC, \(received) arrived and were closed); raise RLIMIT_NOFILE"
        case .truncatedPayload: "handoff message larger than \(HandoffChannel.maxPayload) bytes (MSG_TRUNC)"
        case .tooManyFds(let count): "\(count) fds in one handoff message (at most \(HandoffChannel.maxFdsPerMessage))"
        case .payloadTooLarge(let count):
            "handoff payload of \(count) bytes (at most \(HandoffChannel.maxPayload) per message)"
        case .malformed(let reason): "malformed handoff message: \(reason)"
        case .system(let error): error.description
        }
    }
}

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

    /// Closes this end; the peer then sees ``HandoffError/closed``. Later calls on this end throw `.closed`.
    public func close() {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Sends one message: `payload` (at most ``maxPayload`` bytes; larger payloads must be split by the caller,
    /// as ``HandoffWriter`` does) with up to ``maxFdsPerMessage`` fds attached. The fds stay open and owned by
    /// the caller; the receiver gets its own copies.
    ///
    /// Waits with `poll` while the socket buffer is full, for at most `timeoutMilliseconds` (negative: no limit).
    public func send(_ payload: [UInt8], fds: [Int32] = [], timeoutMilliseconds: Int) throws(HandoffError) {
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
                        holdfast_send_fds(socket, bytes.baseAddress, bytes.count, fdBuffer.baseAddress, Int32(fdBuffer.count))
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
    /// Throws ``HandoffError/truncatedFds(received:)`` when the kernel dropped fds (`MSG_CTRUNC`),
    /// ``HandoffError/truncatedPayload`` on `MSG_TRUNC`, and ``HandoffError/malformed(_:)`` for a message
    /// without the handoff header; in each case every fd of that message is closed before the throw.
    /// Throws ``HandoffError/closed`` at end of stream and ``HandoffError/timeout`` when nothing arrived within
    /// `timeoutMilliseconds` (negative: no limit).
    public func receive(timeoutMilliseconds: Int) throws(HandoffError) -> (payload: [UInt8], fds: [Int32]) {
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
                        socket, buffer.baseAddress, capacity, fdBuffer.baseAddress, Int32(fdBuffer.count), &count, &flags)
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
    private func wait(for events: Int16, until deadline: Deadline) throws(HandoffError) {
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

/// Process-wide resource limits a handoff depends on.
public enum ProcessLimits {
    /// The current `RLIMIT_NOFILE` limits (`Int.max` stands for unlimited).
    public static func fileLimit() throws(SystemError) -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw SystemError("getrlimit") }
        return (convert(limit.rlim_cur), convert(limit.rlim_max))
    }

    /// Sets the soft `RLIMIT_NOFILE` (at most the hard limit), keeping the hard limit.
    public static func setSoftFileLimit(_ soft: Int) throws(SystemError) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw SystemError("getrlimit") }
        limit.rlim_cur = rlim_t(max(0, soft))
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw SystemError("setrlimit") }
    }

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new soft limit (the unchanged one if
    /// raising failed).
    ///
    /// Both sides of a big handoff need it: the receiver, or the kernel silently drops the fds that do not fit
    /// and sets `MSG_CTRUNC`; and the sender, because fds in flight count against its limit. An unlimited hard
    /// limit is capped at `fs.nr_open`, the most the kernel accepts.
    @discardableResult
    public static func raiseFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        var target = limit.rlim_max
        if target == rlim_t.max { target = rlim_t(nrOpen()) }
        guard target > limit.rlim_cur else { return convert(limit.rlim_cur) }
        var raised = limit
        raised.rlim_cur = target
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 else { return convert(limit.rlim_cur) }
        return convert(target)
    }

    private static func convert(_ value: rlim_t) -> Int {
        value == rlim_t.max || value > rlim_t(Int.max) ? Int.max : Int(value)
    }

    /// `fs.nr_open`, the kernel's ceiling for `RLIMIT_NOFILE` (its default when unreadable).
    private static func nrOpen() -> Int {
        let fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 1 << 20 }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return 1 << 20 }
        let text = String(decoding: bytes[0..<count], as: UTF8.self)
        return Int(text.trimmingSpaces()) ?? 1 << 20
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        var view = self[...]
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        return view
    }
}

/// Closes every fd in `fds` (fds received for a message that is being discarded).
func closeAll(_ fds: some Sequence<Int32>) {
    for fd in fds { _ = Glibc.close(fd) }
}
