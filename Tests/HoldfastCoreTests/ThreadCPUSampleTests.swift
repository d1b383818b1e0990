import Glibc
import HoldfastTestSupport
import Testing

@testable import HoldfastCore

/// Which thread spent a step's CPU, read from /proc: a named thread that burns CPU between two samples is the one
/// the difference names, user time included.
@Suite struct ThreadCPUSampleTests {
    private static func threadCPUNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    @Test func aBusyNamedThreadIsTheOneTheSampleNames() throws {
        let started = ThreadSemaphore()
        let burned = ThreadSemaphore()
        let finish = ThreadSemaphore()
        let thread = TestThread {
            nameThisThread("hf-test-burner")
            started.signal()
            finish.wait()  // the first sample is taken meanwhile
            let start = Self.threadCPUNanoseconds()
            var sink: UInt64 = 0
            while Self.threadCPUNanoseconds() - start < 30_000_000 { sink &+= 1 }
            precondition(sink > 0)
            burned.signal()
            finish.wait()
        }
        thread.start()
        started.wait()
        let before = ThreadCPUSample()
        finish.signal()
        burned.wait()
        let after = ThreadCPUSample()
        finish.signal()
        thread.join()
        let id = try #require(before.threads.first { $0.value.name == "hf-test-burner" }?.key)
        let spent = after.spent(since: before)
        let row = try #require(spent.split(separator: ";").first { $0.hasPrefix("hf-test-burner/\(id):") })
        // The 30 ms of CPU it burned (schedstat counts nanoseconds; the user and system ticks are 10 ms samples,
        // too coarse to check here).
        let cpu = try #require(row.split(separator: ",").first.flatMap { Double($0.split(separator: "=")[1]) })
        #expect(cpu >= 29)
        #expect(row.contains(",u=") && row.contains(",s="))
        // This (sampling) thread is the one a step's log calls `upgrade`.
        #expect(after.threads[after.takenBy] != nil)
    }
}
