import Foundation
import HoldfastHistory
import Testing

/// Prints the median and p90 latency of durable appends (synchronous=FULL) for batches of 1 and 100.
///
/// A measurement, not a gate: nothing is asserted about wall-clock time.
@Test func appendLatencyIsPrintedForBatchesOfOneAndOneHundred() throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let store = try HistoryStore(path: directory.database, keepPerRoom: 1_000)
    var nextID: Int64 = 1
    for batchSize in [1, 100] {
        var samples: [Double] = []
        for _ in 0..<50 {
            let batch = (0..<batchSize).map { offset in message("room:bench", nextID + Int64(offset)) }
            nextID += Int64(batchSize)
            let start = ContinuousClock.now
            try store.append(batch)
            let elapsed = ContinuousClock.now - start
            samples.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
        }
        samples.sort()
        let median = samples[samples.count / 2]
        let p90 = samples[samples.count * 9 / 10]
        print(
            "history append, batch of \(batchSize), synchronous=FULL: median \(Int(median)) µs, p90 \(Int(p90)) µs, "
                + "\(Int(median / Double(batchSize))) µs per message")
    }
    #expect(try store.lastID(room: "room:bench") == nextID - 1)
}
