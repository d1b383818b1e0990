import HoldfastCore
import Testing

@Suite struct HeapWatchTests {
    private let mib = 1 << 20

    private func reading(slack: Int, inUse: Int = 20) -> HeapReading {
        HeapReading(residentPrivate: (inUse + slack) * mib, inUse: inUse * mib)
    }

    @Test func trimsOnlyAfterTheSlackStayedHighForTwoChecks() {
        let watch = HeapWatch(threshold: 4 * mib)
        var trims = 0
        let trimTo3 = { () -> HeapReading? in
            trims += 1
            return reading(slack: 3)
        }
        #expect(watch.check(reading(slack: 2), trim: trimTo3) == nil)
        #expect(watch.check(reading(slack: 9), trim: trimTo3) == nil)
        #expect(trims == 0)
        #expect(watch.check(reading(slack: 9), trim: trimTo3) == 6 * mib)
        #expect(trims == 1)
    }

    @Test func slackReusedBeforeTheSecondCheckIsLeftAlone() {
        let watch = HeapWatch(threshold: 4 * mib)
        var trims = 0
        for slack in [2, 9, 3, 5] {
            _ = watch.check(reading(slack: slack)) {
                trims += 1
                return nil
            }
        }
        #expect(trims == 0)
    }

    @Test func afterATrimWhatRemainsIsTheNewFloor() {
        let watch = HeapWatch(threshold: 4 * mib)
        var trims = 0
        let trimTo5 = { () -> HeapReading? in
            trims += 1
            return reading(slack: 5)
        }
        for slack in [2, 9, 9] { _ = watch.check(reading(slack: slack), trim: trimTo5) }
        #expect(trims == 1)
        // 5 MiB stayed after the trim: 8 is only 3 above that.
        for slack in [8, 8, 8] { _ = watch.check(reading(slack: slack), trim: trimTo5) }
        #expect(trims == 1)
        // Freed pages faulted back in by new allocations: the slack creeps up again, and counts.
        for slack in [7, 11, 11] { _ = watch.check(reading(slack: slack), trim: trimTo5) }
        #expect(trims == 2)
    }

    @Test func growthInUseIsNotSlack() {
        let watch = HeapWatch(threshold: 4 * mib)
        var trims = 0
        for inUse in [20, 40, 60, 80] {
            _ = watch.check(reading(slack: 2, inUse: inUse)) {
                trims += 1
                return nil
            }
        }
        #expect(trims == 0)
    }

    @Test func readsThisProcess() throws {
        let reading = try #require(Heap.reading())
        #expect(reading.residentPrivate > 0)
        #expect(reading.inUse > 0)
        let watch = HeapWatch(threshold: Int.max / 2, ticksPerCheck: 2)
        #expect(watch.tick() == nil)
        #expect(watch.tick() == nil)
        #expect(watch.trims == 0)
    }
}
