import Glibc
import HoldfastCore
import Synchronization
import Testing

/// The process-level pieces of a binary upgrade: pausing a loop's socket I/O, blocking a thread until another
/// signals, and starting the new binary with exactly one inherited fd.
@Suite struct ProcessHandoffTests {
    @Test func aLoopWithPausedIODispatchesNoSocketEventsButRunsTasks() throws {
        let loop = try EventLoop()
        let (ours, theirs) = makeSocketPair()
        defer { close(ours); close(theirs) }
        let handler = RecordingHandler()
        let tasksRun = Atomic<Int>(0)
        let eventsWhilePaused = Mutex<Int>(-1)
        let thread = Thread { loop.run() }
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
        let thread = Thread { loop.run() }
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

    @Test func theChildGetsTheChannelAsFd3AndNoOtherDescriptor() throws {
        let (mine, theirs) = try HandoffChannel.makePair()
        defer { mine.close() }
        // A stray descriptor without close-on-exec must not reach the child either.
        let (strayA, strayB) = makeSocketPair()
        defer { close(strayA); close(strayB) }
        let script = "ls /proc/self/fd | sort -n | tr '\\n' ' ' >&3; exit 7"
        let child = try ChildProcess.spawn(
            path: "/bin/sh", arguments: ["-c", script], environment: ["PATH=/usr/bin:/bin"], inherit: theirs.fd)
        theirs.close()
        let (payload, fds) = try receiveRaw(mine)
        #expect(fds.isEmpty)
        let listed = String(decoding: payload, as: UTF8.self).split(separator: " ").map(String.init)
        // 0-2, the channel as 3, and the descriptor `ls` opens to read the directory.
        #expect(listed.count == 5, "fds in the child: \(listed)")
        #expect(Array(listed.prefix(4)) == ["0", "1", "2", "3"])
        var status: String?
        for _ in 0..<200 where status == nil {
            status = child.exitStatus()
            usleep(5_000)
        }
        #expect(status == "exited with status 7")
    }

    @Test func spawningAMissingBinaryFailsWithENOENT() {
        #expect(throws: SystemError.self) {
            _ = try ChildProcess.spawn(path: "/nonexistent/holdfast", arguments: [], environment: [], inherit: 0)
        }
    }

    /// Shell output arrives on a SOCK_SEQPACKET channel without the handoff header, so read it raw.
    private func receiveRaw(_ channel: HandoffChannel) throws -> ([UInt8], [Int32]) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var entry = pollfd(fd: channel.fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&entry, 1, 5_000)
        let count = recv(channel.fd, &buffer, buffer.count, 0)
        return (count > 0 ? Array(buffer[0..<count]) : [], [])
    }
}
