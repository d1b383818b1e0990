import HoldfastRedis
import HoldfastTestSupport
import Testing

@Suite struct RedisBackoffTests {
    @Test func ceilingDoublesUpToTheMaximum() {
        var backoff = RedisBackoff(initialMilliseconds: 100, maximumMilliseconds: 1_000, multiplier: 2, jitter: 0)
        var random = SplitMix(seed: 1)
        let delays = (0..<7).map { _ in backoff.nextDelay(using: &random) }
        #expect(delays == [100, 200, 400, 800, 1_000, 1_000, 1_000])
        #expect(backoff.attempt == 7)
    }

    @Test func jitteredDelaysStayWithinTheirBandAndSpreadOut() {
        var random = SplitMix(seed: 42)
        var seen = Set<Int64>()
        for _ in 0..<200 {
            var backoff = RedisBackoff(initialMilliseconds: 100, maximumMilliseconds: 5_000, jitter: 0.5)
            for attempt in 0..<10 {
                let ceiling = backoff.currentCeiling
                let delay = backoff.nextDelay(using: &random)
                #expect(delay >= ceiling / 2 && delay <= ceiling, "attempt \(attempt): \(delay) vs \(ceiling)")
                if attempt == 3 { seen.insert(delay) }
            }
        }
        // 200 nodes that failed together must not all wait the same time (band 400...800 ms at attempt 3).
        #expect(seen.count > 100)
    }

    @Test func resetStartsOverFromTheInitialDelay() {
        var backoff = RedisBackoff(initialMilliseconds: 50, maximumMilliseconds: 400, jitter: 0)
        var random = SplitMix(seed: 7)
        for _ in 0..<5 { _ = backoff.nextDelay(using: &random) }
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.nextDelay(using: &random) == 50)
    }

    @Test func manyAttemptsNeitherOverflowNorExceedTheCap() {
        var backoff = RedisBackoff(initialMilliseconds: 1, maximumMilliseconds: 30_000, multiplier: 10, jitter: 1)
        var random = SplitMix(seed: 3)
        for _ in 0..<1_000 {
            let delay = backoff.nextDelay(using: &random)
            #expect((0...30_000).contains(delay))
        }
    }
}
