import Glibc
import HoldfastCore
import HoldfastTestSupport
import Synchronization
import Testing

/// The process-level pieces of a binary upgrade: pausing a loop's socket I/O, blocking a thread until another
/// signals, and starting the new binary (the handoff channel as its one inherited fd is tested with the channel).
@Suite struct ProcessHandoffTests {
    @Test func aLoopWithPausedIODispatchesNoSocketEventsButRunsTasks() throws {
        let loop = try EventLoop()
        let (ours, theirs) = makeSocketPair()
        defer { close(ours); close(theirs) }
        let handler = RecordingHandler()
        let tasksRun = Atomic<Int>(0)
        let eventsWhilePaused = Mutex<Int>(-1)
        let thread = TestThread { loop.run() }
        thread.start()
        let registered = ThreadSemaphore()
        loop.execute {
            try? loop.register(fd: ours, interest: .readable, handler: handler)
            loop.pauseIO()
            registered.signal()
        }
        registered.wait()
        _ = "x".withCString { write(theirs, $0, 1) }  // readable now, level-triggered
        for _ in 0..<20 {
            loop.execute { tasksRun.add(1, ordering: .relaxed) }
            usleep(2_000)
        }
        let checked = ThreadSemaphore()
        loop.execute {
            eventsWhilePaused.withLock { $0 = handler.events }
            loop.resumeIO()
            checked.signal()
        }
        checked.wait()
        usleep(20_000)
        let resumed = ThreadSemaphore()
        let eventsAfterResume = Mutex<Int>(0)
        loop.execute {
            eventsAfterResume.withLock { $0 = handler.events }
            loop.deregister(fd: ours)
            resumed.signal()
        }
        resumed.wait()
        loop.stop()
        thread.join()
        #expect(tasksRun.load(ordering: .relaxed) == 20, "tasks keep running while I/O is paused")
        #expect(eventsWhilePaused.withLock { $0 } == 0, "no socket event while paused")
        #expect(eventsAfterResume.withLock { $0 } > 0, "the pending readiness is delivered after resume")
    }

    @Test func workCountGrowsByOneBetweenTwoBarriersWhenNothingElseRan() throws {
        let loop = try EventLoop()
        let thread = TestThread { loop.run() }
        thread.start()
        defer {
            loop.stop()
            thread.join()
        }
        func barrier() -> UInt64 {
            let value = Mutex<UInt64>(0)
            let done = ThreadSemaphore()
            loop.execute {
                value.withLock { $0 = loop.workCount }
                done.signal()
            }
            done.wait()
            return value.withLock { $0 }
        }
        let first = barrier()
        let quiet = barrier()
        #expect(quiet == first + 1)
        loop.execute {}
        loop.execute {}
        let busy = barrier()
        #expect(busy == quiet + 3, "two other tasks ran between the barriers")
    }

    @Test func aSemaphoreTimesOutAndWakes() {
        let semaphore = ThreadSemaphore()
        let started = MonotonicClock.nowMilliseconds()
        #expect(!semaphore.wait(timeoutMilliseconds: 30))
        #expect(MonotonicClock.nowMilliseconds() - started >= 25)
        semaphore.signal()
        #expect(semaphore.wait(timeoutMilliseconds: 1_000))
    }

    @Test func spawningAMissingBinaryFailsWithENOENT() {
        #expect(throws: SystemError.self) {
            _ = try ChildProcess.spawn(path: "/nonexistent/holdfast", arguments: [], environment: [], inherit: 0)
        }
    }
}
