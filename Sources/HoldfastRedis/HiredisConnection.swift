import CHiredis
import Glibc
import HoldfastCore

/// What a ``HiredisConnection`` tells its owner. Called on the loop thread, possibly from inside hiredis: an owner
/// must not free the connection synchronously from these calls (``HiredisConnection/abort(_:)`` defers itself).
protocol HiredisConnectionDelegate: AnyObject {
    /// The TCP connection is established.
    func hiredisConnected(_ connection: HiredisConnection)
    /// The TCP connection could not be established; hiredis frees the context after this returns.
    func hiredisConnectFailed(_ connection: HiredisConnection, reason: String)
    /// An established connection ended: `reason` nil for a clean close.
    func hiredisDisconnected(_ connection: HiredisConnection, reason: String?)
    /// A pub/sub push (`subscribe`, `unsubscribe`, `message` arrays) on a subscriber connection.
    func hiredisPush(_ connection: HiredisConnection, reply: RedisReply)
}

/// One hiredis async context attached to an ``EventLoop``: the adapter hooks turn hiredis's read/write wishes into
/// epoll interest, readiness events into `redisAsyncHandleRead`/`Write`.
///
/// Writes are not registered with epoll up front: `addWrite` queues a flush, so all commands of one loop iteration
/// go out in one `write` before the loop sleeps; only a write that leaves bytes behind asks epoll for writability
/// (Redis's own `beforeSleep` pattern). Before the connect completes, writability is what signals it, so it is
/// registered then.
///
/// Lifetime: the context holds a strong reference to this object (taken at attach, dropped on the loop's next
/// pass after hiredis's `cleanup` hook), so the object outlives every callback hiredis can still make.
/// Thread ownership: loop thread only.
final class HiredisConnection: EventHandler {
    let loop: EventLoop
    weak var delegate: (any HiredisConnectionDelegate)?
    /// What in-flight commands fail with when this side drops the connection (timeout, close).
    var abortReason: RedisError?
    // Loop-thread state. `context` is nil once hiredis has freed it (its cleanup hook ran).
    private(set) var context: UnsafeMutablePointer<redisAsyncContext>?
    private var fd: Int32 = -1
    private var interest: Interest = []
    private var registered = false
    private var writeWanted = false
    private var flushQueued = false
    /// hiredis is writing (flush pass or writable event): a write it cannot finish waits for epoll writability.
    private var writing = false
    /// Calls into hiredis in progress: freeing the context is deferred until they return.
    private var depth = 0
    private var selfReference: Unmanaged<HiredisConnection>?
    /// Send times of regular commands still waiting for their reply, oldest first (replies come in order).
    private var sentTimes: [Int64] = []
    private var sentHead = 0

    private init(loop: EventLoop) { self.loop = loop }

    /// Starts a non-blocking connect to `host` (an address: name resolution is the caller's, off the loop).
    static func connect(
        host: String, port: UInt16, loop: EventLoop, delegate: any HiredisConnectionDelegate
    ) -> Result<HiredisConnection, RedisError> {
        guard let context = redisAsyncConnect(host, Int32(port)) else { return .failure(.connectFailed("no memory")) }
        if context.pointee.err != 0 {
            let reason = String(cString: holdfast_redis_error(context))
            redisAsyncFree(context)
            return .failure(.connectFailed(reason))
        }
        let connection = HiredisConnection(loop: loop)
        connection.delegate = delegate
        connection.attach(context)
        // TCP keepalive (hiredis's fixed 15 s interval) finds a peer that vanished from an idle connection.
        _ = redisEnableKeepAlive(&context.pointee.c)
        // The connect completes when the socket turns writable.
        connection.update(.writable, on: true)
        return .success(connection)
    }

    private func attach(_ context: UnsafeMutablePointer<redisAsyncContext>) {
        self.context = context
        fd = context.pointee.c.fd
        selfReference = Unmanaged.passRetained(self)
        let opaque = selfReference!.toOpaque()
        context.pointee.data = opaque
        context.pointee.ev.data = opaque
        context.pointee.ev.addRead = hiredisAddRead
        context.pointee.ev.delRead = hiredisDelRead
        context.pointee.ev.addWrite = hiredisAddWrite
        context.pointee.ev.delWrite = hiredisDelWrite
        context.pointee.ev.cleanup = hiredisCleanup
        _ = redisAsyncSetConnectCallback(context, hiredisOnConnect)
        _ = redisAsyncSetDisconnectCallback(context, hiredisOnDisconnect)
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> HiredisConnection {
        Unmanaged<HiredisConnection>.fromOpaque(opaque!).takeUnretainedValue()
    }

    // MARK: Commands

    /// Queues a regular command; `completion` gets the reply, or nil if the connection ended first. False (and
    /// no completion) when hiredis refuses it because the context is closing.
    func send(_ arguments: [RedisArgument], completion: @escaping (UnsafePointer<redisReply>?) -> Void) -> Bool {
        guard let context else { return false }
        let box = Unmanaged.passRetained(ReplyBox(completion))
        let status = withArgv(arguments) { argc, argv, lengths in
            redisAsyncCommandArgv(context, hiredisReply, box.toOpaque(), argc, argv, lengths)
        }
        guard status == REDIS_OK else {
            box.release()
            return false
        }
        sentTimes.append(MonotonicClock.nowMilliseconds())
        return true
    }

    /// Queues `SUBSCRIBE`/`UNSUBSCRIBE` (or another pub/sub command): replies arrive as
    /// ``HiredisConnectionDelegate/hiredisPush(_:reply:)``.
    func sendPubSub(_ arguments: [RedisArgument]) -> Bool {
        guard let context else { return false }
        let status = withArgv(arguments) { argc, argv, lengths in
            // hiredis keeps this callback in its channel table; its privdata is this object, not a box to free.
            redisAsyncCommandArgv(context, hiredisPush, context.pointee.data, argc, argv, lengths)
        }
        return status == REDIS_OK
    }

    /// When the oldest unanswered regular command was sent (monotonic ms), if any.
    var oldestPendingSince: Int64? { sentHead < sentTimes.count ? sentTimes[sentHead] : nil }

    fileprivate func replyArrived() {
        guard sentHead < sentTimes.count else { return }
        sentHead += 1
        if sentHead == sentTimes.count {
            sentTimes.removeAll(keepingCapacity: true)
            sentHead = 0
        } else if sentHead > 1024 {
            sentTimes.removeFirst(sentHead)
            sentHead = 0
        }
    }

    // MARK: Ending

    /// Closes after the replies in flight have arrived (`redisAsyncDisconnect`).
    func disconnect() {
        guard let context else { return }
        if depth > 0 {
            loop.schedule(afterMilliseconds: 0) { [self] in disconnect() }
            return
        }
        redisAsyncDisconnect(context)
    }

    /// Drops the connection now; commands in flight fail with `reason`.
    func abort(_ reason: RedisError) {
        if abortReason == nil { abortReason = reason }
        guard let context else { return }
        if depth > 0 {
            loop.schedule(afterMilliseconds: 0) { [self] in abort(reason) }
            return
        }
        redisAsyncFree(context)
    }

    // MARK: Adapter hooks and events

    fileprivate func update(_ wanted: Interest, on: Bool) {
        if wanted == .writable {
            guard !on || !isConnectedContext || writing else {
                // Connected: defer the write to the flush pass before the loop sleeps.
                writeWanted = true
                if !flushQueued {
                    flushQueued = true
                    loop.scheduleFlush(self)
                }
                return
            }
            if !on { writeWanted = false }
        }
        var next = interest
        if on { next.insert(wanted) } else { next.remove(wanted) }
        guard next != interest else { return }
        interest = next
        if next.isEmpty {
            if registered { loop.deregister(fd: fd) }
            registered = false
        } else if registered {
            loop.modify(fd: fd, interest: next)
        } else {
            do {
                try loop.register(fd: fd, interest: next, handler: self)
                registered = true
            } catch {
                abort(.connectFailed("cannot watch the socket: \(error)"))
            }
        }
    }

    private var isConnectedContext: Bool {
        guard let context else { return false }
        return holdfast_redis_is_connected(context) != 0
    }

    fileprivate func cleanup() {
        if registered { loop.deregister(fd: fd) }
        registered = false
        interest = []
        context = nil
        // hiredis still calls the disconnect callback after cleanup; keep this object alive past it.
        if let reference = selfReference {
            selfReference = nil
            loop.schedule(afterMilliseconds: 0) { reference.release() }
        }
    }

    override func handleEvent(readable: Bool, writable: Bool) {
        depth += 1
        defer { depth -= 1 }
        if readable, let context { redisAsyncHandleRead(context) }
        if writable, let context {
            writing = true
            redisAsyncHandleWrite(context)
            writing = false
        }
    }

    override func flush() {
        flushQueued = false
        guard writeWanted, let context, holdfast_redis_is_connected(context) != 0 else { return }
        writeWanted = false
        depth += 1
        writing = true
        redisAsyncHandleWrite(context)
        writing = false
        depth -= 1
    }

    fileprivate func connected(status: Int32) {
        guard status == REDIS_OK else {
            let reason = context.map { String(cString: holdfast_redis_error($0)) } ?? "connect failed"
            delegate?.hiredisConnectFailed(self, reason: reason)
            return
        }
        delegate?.hiredisConnected(self)
    }

    fileprivate func disconnected(status: Int32, reason: String?) {
        delegate?.hiredisDisconnected(self, reason: status == REDIS_OK ? nil : reason ?? "connection closed")
    }
}

/// A regular command's completion, retained in hiredis's callback list until its one reply (or nil) arrives.
private final class ReplyBox {
    let completion: (UnsafePointer<redisReply>?) -> Void
    init(_ completion: @escaping (UnsafePointer<redisReply>?) -> Void) { self.completion = completion }
}

/// Calls `body` with C argv/argvlen arrays pointing into one buffer holding every argument.
private func withArgv(
    _ arguments: [RedisArgument],
    _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Int32
) -> Int32 {
    var joined: [UInt8] = []
    joined.reserveCapacity(arguments.reduce(1) { $0 + $1.bytes.count })
    var offsets: [Int] = []
    var lengths: [Int] = []
    for argument in arguments {
        offsets.append(joined.count)
        lengths.append(argument.bytes.count)
        joined.append(contentsOf: argument.bytes)
    }
    joined.append(0)  // never empty, so the buffer has a base address
    return joined.withUnsafeBufferPointer { buffer in
        let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
        var argv: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
        return argv.withUnsafeMutableBufferPointer { argvBuffer in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }
}

// MARK: C entry points (hiredis calls these on the loop thread)

private func hiredisAddRead(_ data: UnsafeMutableRawPointer?) {
    HiredisConnection.from(data).update(.readable, on: true)
}
private func hiredisDelRead(_ data: UnsafeMutableRawPointer?) {
    HiredisConnection.from(data).update(.readable, on: false)
}
private func hiredisAddWrite(_ data: UnsafeMutableRawPointer?) {
    HiredisConnection.from(data).update(.writable, on: true)
}
private func hiredisDelWrite(_ data: UnsafeMutableRawPointer?) {
    HiredisConnection.from(data).update(.writable, on: false)
}
private func hiredisCleanup(_ data: UnsafeMutableRawPointer?) { HiredisConnection.from(data).cleanup() }

private func hiredisOnConnect(_ context: UnsafePointer<redisAsyncContext>?, _ status: Int32) {
    guard let context else { return }
    HiredisConnection.from(context.pointee.data).connected(status: status)
}

private func hiredisOnDisconnect(_ context: UnsafePointer<redisAsyncContext>?, _ status: Int32) {
    guard let context else { return }
    let reason = context.pointee.errstr.map { String(cString: $0) }
    HiredisConnection.from(context.pointee.data).disconnected(status: status, reason: reason)
}

private func hiredisReply(
    _ context: UnsafeMutablePointer<redisAsyncContext>?, _ reply: UnsafeMutableRawPointer?,
    _ privdata: UnsafeMutableRawPointer?
) {
    guard let privdata else { return }
    let box = Unmanaged<ReplyBox>.fromOpaque(privdata).takeRetainedValue()
    if let context { HiredisConnection.from(context.pointee.data).replyArrived() }
    box.completion(reply.map { UnsafePointer($0.assumingMemoryBound(to: redisReply.self)) })
}

private func hiredisPush(
    _ context: UnsafeMutablePointer<redisAsyncContext>?, _ reply: UnsafeMutableRawPointer?,
    _ privdata: UnsafeMutableRawPointer?
) {
    // A nil reply is the teardown pass over the channel table: the disconnect callback reports the end.
    guard let reply, let privdata else { return }
    let connection = HiredisConnection.from(privdata)
    connection.delegate?.hiredisPush(connection, reply: RedisReply(reply.assumingMemoryBound(to: redisReply.self)))
}
