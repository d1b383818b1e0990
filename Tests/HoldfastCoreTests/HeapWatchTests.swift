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

@Suite struct HeapWatchShareTests {
    private let mib = 1 << 20

    private func reading(slack: Int, inUse: Int) -> HeapReading {
        HeapReading(residentPrivate: inUse + slack, inUse: inUse)
    }

    @Test func theThresholdIsTheShareOfTheHeapInUseBetweenItsBounds() {
        let watch = HeapWatch(threshold: 4 * mib, slackPercentOfInUse: 6, minimumThreshold: mib)
        #expect(watch.threshold(at: reading(slack: 0, inUse: 50 * mib)) == 3 * mib)
        #expect(watch.threshold(at: reading(slack: 0, inUse: 5 * mib)) == mib)
        #expect(watch.threshold(at: reading(slack: 0, inUse: 500 * mib)) == 4 * mib)
        let fixed = HeapWatch(threshold: 4 * mib)
        #expect(fixed.threshold(at: reading(slack: 0, inUse: 17 * mib)) == 4 * mib)
    }

    @Test func aBurstsFreedTextBelowTheFixedThresholdIsTrimmedWithAShare() {
        // 19,000 members: 17 MiB in use; the burst's end frees 1.8 MiB of presence text.
        let inUse = 17 * mib
        let freed = 18 * mib / 10
        for (percent, expectedTrims) in [(0, 0), (6, 1)] {
            let watch = HeapWatch(slackPercentOfInUse: percent)
            var trims = 0
            for slack in [3 * mib, 3 * mib + freed, 3 * mib + freed] {
                _ = watch.check(reading(slack: slack, inUse: inUse)) {
                    trims += 1
                    return reading(slack: 3 * mib, inUse: inUse)
                }
            }
            #expect(trims == expectedTrims, "percent \(percent)")
            #expect(watch.trims == expectedTrims)
        }
    }

    @Test func steadyTrafficBelowTheShareNeverTrims() {
        // Slack that traffic takes and gives back within the share, with one-check spikes above it, costs no trim.
        let inUse = 30 * mib
        let watch = HeapWatch(slackPercentOfInUse: 6)  // 1.8 MiB
        var trims = 0
        for step in 0..<600 {
            let slack = 2 * mib + (step % 3) * mib / 2 + (step % 50 == 0 ? 3 * mib : 0)
            _ = watch.check(reading(slack: slack, inUse: inUse)) {
                trims += 1
                return nil
            }
        }
        #expect(trims == 0)
        #expect(watch.trims == 0)
    }

    @Test func aShareTrimsOnlyOnceTheHeapInUseIsQuiet() {
        // A join burst: the heap in use grows 3 MiB a check while the slack stays high; no trim until it stops.
        let watch = HeapWatch(slackPercentOfInUse: 6)
        var trims = 0
        _ = watch.check(reading(slack: mib, inUse: 5 * mib)) { trims += 1; return nil }
        for step in 1...5 {
            _ = watch.check(reading(slack: 5 * mib, inUse: (5 + 3 * step) * mib)) { trims += 1; return nil }
        }
        #expect(trims == 0)
        _ = watch.check(reading(slack: 5 * mib, inUse: 20 * mib)) { trims += 1; return nil }
        #expect(trims == 0)  // the first quiet check only counts as the first of two
        _ = watch.check(reading(slack: 5 * mib, inUse: 20 * mib)) { trims += 1; return nil }
        #expect(trims == 1)
    }

    @Test func aShareStillWaitsForTheSecondCheckAndResetsTheFloor() {
        let inUse = 20 * mib
        let watch = HeapWatch(slackPercentOfInUse: 10)  // 2 MiB
        var trims = 0
        let trimTo3 = { () -> HeapReading? in
            trims += 1
            return self.reading(slack: 3 * self.mib, inUse: inUse)
        }
        for slack in [1, 4, 1, 4] { _ = watch.check(reading(slack: slack * mib, inUse: inUse), trim: trimTo3) }
        #expect(trims == 0)
        #expect(watch.check(reading(slack: 4 * mib, inUse: inUse), trim: trimTo3) == mib)
        #expect(trims == 1)
        // 3 MiB stayed: 4 is 1 above that floor, under the share.
        for _ in 0..<5 { _ = watch.check(reading(slack: 4 * mib, inUse: inUse), trim: trimTo3) }
        #expect(trims == 1)
    }
}
