import CHoldfast
import Glibc
import Synchronization

/// One epoll reactor, run by one thread.
///
/// Lifecycle: create it, register handlers, call ``run()`` on the thread that will own it (``EventLoopGroup``
/// does this), and call ``stop()`` from anywhere to end it.
///
/// Thread ownership: everything except ``execute(_:)``, ``stop()`` and ``isInLoop`` must be called on the loop's
/// own thread; the fd table, timers and flush queue are confined to it, which is why the class is
/// `@unchecked Sendable`.
///
/// Stale events: each registration carries a generation number packed with the fd into the epoll user data,
/// so an event queued for an fd that was closed and reused in the same batch is recognised and dropped.
///
/// Handlers are called without a retain per event: the fd table holds each one (+1, taken by hand), and a handler
/// that lets go of itself during its own call (a connection closing, or replaced across an upgrade) is kept until
/// that call has returned.
public final class EventLoop: @unchecked Sendable {
    /// This loop's position in its group (0-based).
    public let index: Int
    /// A scratch buffer that handlers read into, shared by every connection of this loop, so an idle
    /// connection keeps no receive buffer of its own. Valid only during a handler call.
    public let readBuffer: UnsafeMutableRawBufferPointer

    private let epollFD: Int32
    private let wakeFD: Int32
    // Loop-thread state.
    private var table: [Slot] = []
    private var generationCounter: UInt32 = 0
    private var flushQueue: [EventHandler] = []
    /// True while ``runFlushes()`` writes (its batch is out of `flushQueue` then).
    private var flushing = false
    /// Run once the flushes of the current turn are done (see ``whenFlushed(_:)``).
    private var afterFlushes: [() -> Void] = []
    private var timers = TimerHeap()
    private var running = true
    /// While set, the loop runs tasks, timers and flushes but dispatches no socket events (see ``pauseIO()``).
    private var ioPaused = false
    /// Tasks and timers run so far (see ``workCount``).
    private var completedWork: UInt64 = 0
    private var events: UnsafeMutablePointer<holdfast_event>
    /// The handler the dispatch is calling, unretained, and that handler's own reference if the table let go of it
    /// during the call: released once the call returns.
    private var dispatching: UnsafeMutableRawPointer?
    private var retired: Unmanaged<EventHandler>?
    private let eventCapacity = 1024
    // Cross-thread state.
    private let tasks = Mutex<[@Sendable () -> Void]>([])
    private let sleeping = Atomic<Bool>(false)
    private let threadID = Atomic<Int32>(0)
    /// Time spent waiting for events (the rest of the loop's life is work): the dashboard's loop load.
    private let idleNanos = Atomic<UInt64>(0)

    private struct Slot {
        var generation: UInt32
        /// See `register(fd:interest:handler:closesAlone:)`; fits the padding after `generation`.
        var closesAlone = false
        /// Retained by hand (``retain(_:)`` and ``release(_:)``), so the dispatch can call it without a retain.
        var handler: Unmanaged<EventHandler>?
    }

    private static let wakeToken: UInt64 = UInt64.max

    /// Creates a loop (epoll instance and wake-up eventfd). Call ``run()`` on the owning thread.
    public init(index: Int = 0, readBufferSize: Int = 64 * 1024) throws(SystemError) {
        self.index = index
        let epollFD = holdfast_epoll_create()
        guard epollFD >= 0 else { throw SystemError("epoll_create1") }
        let wakeFD = holdfast_eventfd()
        guard wakeFD >= 0 else {
            Glibc.close(epollFD)
            throw SystemError("eventfd")
        }
        guard holdfast_epoll_ctl(epollFD, 0, wakeFD, HOLDFAST_EPOLLIN, EventLoop.wakeToken) == 0 else {
            Glibc.close(epollFD)
            Glibc.close(wakeFD)
            throw SystemError("epoll_ctl(eventfd)")
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        self.events = .allocate(capacity: eventCapacity)
    }

    deinit {
        for slot in table { slot.handler?.release() }
        Glibc.close(epollFD)
        Glibc.close(wakeFD)
        readBuffer.deallocate()
        events.deallocate()
    }

    /// Whether the caller runs on this loop's thread.
    public var isInLoop: Bool { threadID.load(ordering: .relaxed) == holdfast_gettid() }

    // MARK: Registration (loop thread)

    /// Starts watching `fd` for `interest`, delivering events to `handler`, which the loop retains until
    /// ``deregister(fd:)`` or ``close(fd:shared:)``.
    ///
    /// `closesAlone`: this process holds the only descriptor of the socket (a connection it accepted itself), so
    /// closing `fd` also takes it out of the epoll set and ``close(fd:shared:)`` needs no `epoll_ctl`. Sockets
    /// received from another process, which may still hold them, keep the default.
    public func register(
        fd: Int32, interest: Interest, handler: EventHandler, closesAlone: Bool = false
    ) throws(SystemError) {
        let index = Int(fd)
        if index >= table.count {
            // An eighth of headroom rather than the doubling of `append`: one slot per open fd, kept for the
            // loop's life, would otherwise leave up to half the table unused at tens of thousands of connections.
            if index >= table.capacity { table.reserveCapacity(index + 1 + index / 8) }
            table.append(contentsOf: repeatElement(Slot(generation: 0, handler: nil), count: index - table.count + 1))
        }
        generationCounter &+= 1
        let previous = table[index].handler
        table[index] = Slot(generation: generationCounter, closesAlone: closesAlone, handler: .passRetained(handler))
        if let previous { release(previous) }
        let data = UInt64(UInt32(bitPattern: fd)) | UInt64(generationCounter) << 32
        guard holdfast_epoll_ctl(epollFD, 0, fd, epollEvents(interest), data) == 0 else {
            clearHandler(at: index)
            throw SystemError("epoll_ctl(add)")
        }
    }

    /// Changes the readiness `fd` is watched for.
    public func modify(fd: Int32, interest: Interest) {
        let index = Int(fd)
        guard index < table.count, table[index].handler != nil else { return }
        let data = UInt64(UInt32(bitPattern: fd)) | UInt64(table[index].generation) << 32
        _ = holdfast_epoll_ctl(epollFD, 1, fd, epollEvents(interest), data)
    }

    /// Stops watching `fd` and releases its handler. Call before closing the fd.
    public func deregister(fd: Int32) {
        let index = Int(fd)
        guard index < table.count, table[index].handler != nil else { return }
        _ = holdfast_epoll_ctl(epollFD, 2, fd, 0, 0)
        clearHandler(at: index)
    }

    /// Stops watching `fd`, releases its handler and closes it. The kernel drops an epoll registration when the
    /// last descriptor of its socket closes, so a socket registered with `closesAlone` is closed without an
    /// `epoll_ctl` (one system call less per connection), unless `shared` says another process may hold it now
    /// (a binary upgrade has sent it): then an explicit delete keeps a closed fd from reporting events.
    public func close(fd: Int32, shared: Bool = false) {
        let index = Int(fd)
        if index < table.count, table[index].handler != nil {
            if shared || !table[index].closesAlone { _ = holdfast_epoll_ctl(epollFD, 2, fd, 0, 0) }
            clearHandler(at: index)
        }
        Socket.close(fd)
    }

    /// Puts `handler` in place of the handler registered for `fd`, keeping the registration itself (no system
    /// call); false when `fd` is not registered. Loop thread, or before the loop runs.
    @discardableResult
    public func replaceHandler(fd: Int32, with handler: EventHandler) -> Bool {
        let index = Int(fd)
        guard index < table.count, let previous = table[index].handler else { return false }
        table[index].handler = .passRetained(handler)
        release(previous)
        return true
    }

    /// Every registered handler, e.g. to close them all on shutdown or to sweep idle connections.
    public var handlers: [EventHandler] { table.compactMap { $0.handler?.takeUnretainedValue() } }

    private func clearHandler(at index: Int) {
        guard let handler = table[index].handler else { return }
        table[index].handler = nil
        release(handler)
    }

    /// Drops the table's reference to `handler`, unless the dispatch is calling it right now: then it lives until
    /// that call returns (the call may well be what let go of it, e.g. a connection closing itself).
    private func release(_ handler: Unmanaged<EventHandler>) {
        if handler.toOpaque() == dispatching, retired == nil {
            retired = handler
        } else {
            handler.release()  // when `retired` holds the same handler already, that reference keeps it alive
        }
    }

    private func epollEvents(_ interest: Interest) -> UInt32 {
        var events: UInt32 = 0
        if interest.contains(.readable) { events |= HOLDFAST_EPOLLIN }
        if interest.contains(.writable) { events |= HOLDFAST_EPOLLOUT }
        return events
    }

    // MARK: Flushing, timers, tasks

    /// Asks the loop to call `handler.flush()` once before it next sleeps. The handler keeps its own flag so it
    /// enqueues itself at most once per iteration.
    public func scheduleFlush(_ handler: EventHandler) {
        flushQueue.append(handler)
    }

    /// Runs `body` on this loop after `milliseconds` (loop thread only).
    @discardableResult
    public func schedule(afterMilliseconds milliseconds: Int64, _ body: @escaping () -> Void) -> TimerID {
        timers.schedule(at: MonotonicClock.nowMilliseconds() + milliseconds, body)
    }

    /// Cancels a timer that has not fired yet.
    public func cancel(_ timer: TimerID) {
        timers.cancel(timer)
    }

    /// Runs `task` on this loop's thread as soon as possible; callable from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(task) }
        // Only a sleeping loop needs the eventfd write; the loop sets `sleeping` before it checks the queue a
        // last time, so a task is never stranded.
        if sleeping.load(ordering: .sequentiallyConsistent) {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    /// Ends ``run()`` after the current iteration; callable from any thread.
    public func stop() {
        execute { [self] in running = false }
    }

    /// Runs `body` once every flush asked for so far in this turn is done, so everything that tasks queued before
    /// it wrote has reached the kernel (or waits, unwritten, for its socket to drain). Loop thread only.
    public func whenFlushed(_ body: @escaping () -> Void) { afterFlushes.append(body) }

    /// Whether handlers still wait to be flushed in this turn (in the queue or in the batch being written): a
    /// barrier task can run in the middle of a long fan-out's writes. Loop thread only.
    public var hasPendingFlushes: Bool { flushing || !flushQueue.isEmpty }

    // MARK: Pausing I/O

    /// Stops dispatching socket events (readable, writable, accepts) until ``resumeIO()``; tasks, timers and
    /// flushes keep running. Costs no system call per socket: the loop simply waits on its wake-up eventfd
    /// instead of the epoll set, so every registration stays as it is. Loop thread only.
    ///
    /// A binary upgrade uses it to freeze client traffic while internal work (room messages, durable commits)
    /// drains, before the sockets are handed to the new process.
    public func pauseIO() { ioPaused = true }

    /// Dispatches socket events again after ``pauseIO()``; events that arrived meanwhile are delivered then
    /// (epoll is level-triggered). Loop thread only.
    public func resumeIO() { ioPaused = false }

    /// Whether socket events are paused. Loop thread only.
    public var isIOPaused: Bool { ioPaused }

    /// How many tasks and timers this loop has completed. Read on the loop thread: two reads from tasks that ran
    /// one after the other differ by exactly 1 when nothing else ran between them, which is how a handoff
    /// proves the process quiescent.
    public var workCount: UInt64 { completedWork }

    /// Nanoseconds this loop has spent waiting for events since it started; any thread may read it. Two readings
    /// and the time between them give the loop's load.
    public var idleNanoseconds: UInt64 { idleNanos.load(ordering: .relaxed) }

    // MARK: The loop

    /// Runs the loop on the calling thread until ``stop()``.
    public func run() {
        threadID.store(holdfast_gettid(), ordering: .relaxed)
        nameThisThread("hf-loop-\(index)")
        while running {
            runTasks()
            // A task may have stopped the loop; sleeping now could block forever.
            guard running else { break }
            runFlushes()
            guard running else { break }  // a task run while flushing may have stopped the loop
            sleeping.store(true, ordering: .sequentiallyConsistent)
            let pendingTasks = tasks.withLock { !$0.isEmpty }
            let timeout = pendingTasks || !flushQueue.isEmpty ? 0 : waitTimeout()
            let waitStart = timeout == 0 ? 0 : MonotonicClock.nowNanoseconds()
            var count: Int32 = 0
            if ioPaused {
                waitForWakeUp(timeout: timeout)
            } else {
                count = holdfast_epoll_wait(epollFD, events, Int32(eventCapacity), timeout)
                sleeping.store(false, ordering: .relaxed)
            }
            if waitStart != 0 { idleNanos.add(MonotonicClock.nowNanoseconds() &- waitStart, ordering: .relaxed) }
            if count > 0 { dispatch(count: Int(count)) }
            runTimers()
        }
        runFlushes()
    }

    /// The sleep of a loop whose I/O is paused: only the wake-up eventfd (tasks) and the timeout (timers) end it.
    private func waitForWakeUp(timeout: Int32) {
        var entry = pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, timeout)
        sleeping.store(false, ordering: .relaxed)
        if ready > 0 {
            var value: UInt64 = 0
            _ = Glibc.read(wakeFD, &value, 8)
        }
    }

    private func waitTimeout() -> Int32 {
        guard let deadline = timers.nextDeadline() else { return -1 }
        let wait = deadline - MonotonicClock.nowMilliseconds()
        return Int32(clamping: max(0, wait))
    }

    private func dispatch(count: Int) {
        for position in 0..<count {
            let event = events[position]
            if event.data == EventLoop.wakeToken {
                var value: UInt64 = 0
                _ = Glibc.read(wakeFD, &value, 8)
                continue
            }
            let fd = Int(UInt32(truncatingIfNeeded: event.data))
            let generation = UInt32(truncatingIfNeeded: event.data >> 32)
            guard fd < table.count, table[fd].generation == generation, let handler = table[fd].handler else {
                continue  // stale: the fd was closed (and maybe reused) earlier in this batch
            }
            let errorOrHangup = event.events & (HOLDFAST_EPOLLERR | HOLDFAST_EPOLLHUP) != 0
            // Unretained: the table holds the handler, and `release(_:)` keeps it until this call returns.
            dispatching = handler.toOpaque()
            handler._withUnsafeGuaranteedRef {
                $0.handleEvent(
                    readable: event.events & HOLDFAST_EPOLLIN != 0 || errorOrHangup,
                    writable: event.events & HOLDFAST_EPOLLOUT != 0
                )
            }
            dispatching = nil
            if let retired {
                self.retired = nil
                retired.release()
            }
        }
    }

    private func runTasks() {
        let batch = tasks.withLock { queue -> [@Sendable () -> Void] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        for task in batch {
            task()
            completedWork &+= 1
        }
    }

    /// Handlers flushed between two looks at the task queue while a turn's first flush batch is written.
    static let catchUpInterval = 128

    /// Flushes every handler that asked. While the turn's first batch is written (a fan-out to thousands of
    /// members takes a system call each), the task queue is looked at every ``catchUpInterval`` handlers, and
    /// tasks that arrived meanwhile run at once: a room's next durable batch, reported by the history thread
    /// during the writes, then reaches the members not written yet in the same write as the batch before it
    /// (their queues still hold it), rather than in a write of its own a turn later. Members already written get
    /// it in the batch that follows. Nothing waits for anything: the tasks run earlier than they would have, and
    /// each handler's bytes stay in the order they were queued.
    private func runFlushes() {
        flushing = true
        defer {
            flushing = false
            if !afterFlushes.isEmpty {
                let waiting = afterFlushes
                afterFlushes.removeAll()
                for body in waiting { body() }
            }
        }
        var catchingUp = true
        // Flushing may enqueue more flushes (e.g. a write that frees room for another connection's data).
        while !flushQueue.isEmpty {
            let batch = flushQueue
            flushQueue.removeAll(keepingCapacity: true)
            guard catchingUp, batch.count > Self.catchUpInterval else {
                for handler in batch { handler.flush() }
                continue
            }
            catchingUp = false
            for (position, handler) in batch.enumerated() {
                handler.flush()
                if position % Self.catchUpInterval == Self.catchUpInterval - 1, running,
                    tasks.withLock({ !$0.isEmpty })
                {
                    runTasks()
                }
            }
        }
    }

    private func runTimers() {
        guard !timers.isEmpty else { return }
        for body in timers.popExpired(now: MonotonicClock.nowMilliseconds()) {
            body()
            completedWork &+= 1
        }
    }
}
