import HoldfastPresence
import Testing

@Suite struct PresenceDiffCoalescerTests {
    @Test func windowZeroFlushesAtOnce() {
        var coalescer = PresenceDiffCoalescer(windowMilliseconds: 0)
        #expect(coalescer.changeRecorded(now: 100) == 100)
        #expect(coalescer.changeRecorded(now: 100) == nil)
        coalescer.flushed()
        #expect(coalescer.changeRecorded(now: 101) == 101)
        coalescer.flushed()
        #expect(coalescer.changeRecorded(now: 101) == 101)
    }

    @Test func a50MillisecondWindowFlushesAtMostOncePerWindow() {
        var coalescer = PresenceDiffCoalescer(windowMilliseconds: 50)
        // A lone change after a quiet period goes out at once.
        #expect(coalescer.changeRecorded(now: 1_000) == 1_000)
        coalescer.flushed()
        // Changes inside the window wait for its end, and only the first arms the timer.
        #expect(coalescer.changeRecorded(now: 1_010) == 1_050)
        #expect(coalescer.changeRecorded(now: 1_020) == nil)
        #expect(coalescer.changeRecorded(now: 1_049) == nil)
        coalescer.flushed()
        #expect(coalescer.lastFlushAt == 1_050)
        #expect(coalescer.changeRecorded(now: 1_060) == 1_100)
        coalescer.flushed()
        // After a quiet window the next change is immediate again.
        #expect(coalescer.changeRecorded(now: 1_300) == 1_300)
    }

    @Test func aLateFlushRestartsTheWindowWhenItRan() {
        var coalescer = PresenceDiffCoalescer(windowMilliseconds: 50)
        #expect(coalescer.changeRecorded(now: 0) == 0)
        coalescer.flushed(now: 30)
        #expect(coalescer.changeRecorded(now: 40) == 80)
        coalescer.flushed()
        coalescer.flushed()
        #expect(coalescer.scheduledAt == nil)
        #expect(PresenceDiffCoalescer(windowMilliseconds: -5).windowMilliseconds == 0)
    }
}
