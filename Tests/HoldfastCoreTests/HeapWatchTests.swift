import HoldfastCore
import Testing

@Suite struct HeapWatchTests {
    private let mib = 1 << 20

    @Test func trimsOnlyAfterFreeBytesStayedHighForTwoChecks() {
        let watch = HeapWatch(threshold: 4 * mib)
        var trims = 0
        #expect(watch.check(freeBytes: 2 * mib) { trims += 1 } == nil)
        #expect(watch.check(freeBytes: 9 * mib) { trims += 1 } == nil)
        #expect(trims == 0)
        #expect(watch.check(freeBytes: 9 * mib) { trims += 1 } == 7 * mib)
        #expect(trims == 1)
    }

    @Test func memoryReusedBeforeTheSecondCheckIsLeftAlone() {
        let watch = HeapWatch(threshold: 4 * mib)
        var trims = 0
        _ = watch.check(freeBytes: 2 * mib) { trims += 1 }
        _ = watch.check(freeBytes: 9 * mib) { trims += 1 }
        _ = watch.check(freeBytes: 3 * mib) { trims += 1 }
        _ = watch.check(freeBytes: 5 * mib) { trims += 1 }
        #expect(trims == 0)
    }

    @Test func afterATrimOnlyNewlyFreedMemoryCounts() {
        let watch = HeapWatch(threshold: 4 * mib)
        var trims = 0
        for free in [2, 9, 9] { _ = watch.check(freeBytes: free * mib) { trims += 1 } }
        #expect(trims == 1)
        // The 9 MiB already given back stay free (and counted) but are no longer resident.
        for free in [10, 11, 12] { _ = watch.check(freeBytes: free * mib) { trims += 1 } }
        #expect(trims == 1)
        // Reused (free bytes fall), then freed again: resident again, so it counts.
        for free in [6, 12, 12] { _ = watch.check(freeBytes: free * mib) { trims += 1 } }
        #expect(trims == 2)
    }

    @Test func tickChecksTheRealHeapEveryFewTicks() {
        let watch = HeapWatch(threshold: Int.max / 2, ticksPerCheck: 2)
        #expect(watch.tick() == nil)
        #expect(watch.tick() == nil)
        #expect(Heap.freeBytes >= 0)
        #expect(watch.trims == 0)
    }
}
