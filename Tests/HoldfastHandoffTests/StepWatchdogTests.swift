import Glibc
import HoldfastCore
import HoldfastHandoff
import Synchronization
import Testing

@Suite struct StepWatchdogTests {
    @Test func stepsThatEndInTimeAreNeverClaimed() {
        let stalls = Atomic<Int>(0)
        let watchdog = StepWatchdog(limitMilliseconds: 10_000) { _, _ in stalls.add(1, ordering: .relaxed) }
        for step in ["spawn", "stage", "sendFinal"] {
            #expect(watchdog.begin(step))
            #expect(watchdog.end())
        }
        watchdog.stop()
        #expect(stalls.load(ordering: .relaxed) == 0)
    }

    @Test func aStepPastTheLimitIsClaimedOnceAndItsThreadIsToldToStop() {
        let stalled = Mutex<[(String, Int)]>([])
        let fired = ThreadSemaphore()
        let watchdog = StepWatchdog(limitMilliseconds: 50) { step, elapsed in
            stalled.withLock { $0.append((step, elapsed)) }
            fired.signal()
        }
        #expect(watchdog.begin("awaitAck"))
        #expect(fired.wait(timeoutMilliseconds: 10_000))
        // The stalled step returns after all: it learns the attempt is no longer its own.
        #expect(!watchdog.end())
        #expect(!watchdog.begin("finish"))
        watchdog.stop()
        let calls = stalled.withLock { $0 }
        #expect(calls.count == 1)
        #expect(calls.first?.0 == "awaitAck")
        #expect((calls.first?.1 ?? 0) >= 50)
    }

    @Test func waitingBetweenStepsIsNotAStall() {
        let stalls = Atomic<Int>(0)
        let watchdog = StepWatchdog(limitMilliseconds: 500) { _, _ in stalls.add(1, ordering: .relaxed) }
        #expect(watchdog.begin("stage"))
        #expect(watchdog.end())
        usleep(800_000)
        #expect(watchdog.begin("restage"))
        #expect(watchdog.end())
        watchdog.stop()
        #expect(stalls.load(ordering: .relaxed) == 0)
    }
}
