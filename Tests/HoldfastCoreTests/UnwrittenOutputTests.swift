import Testing

@testable import HoldfastCore

/// What a partial gathering write leaves queued: exactly the bytes after the first `written`, in order.
@Suite struct UnwrittenOutputTests {
    @Test func everySplitPointLeavesTheUnwrittenRest() {
        let head: [UInt8] = [10, 11, 12]
        let body: [UInt8] = [20, 21, 22, 23]
        for offset in 0...2 {
            let queue: [UInt8] = [1, 2, 3, 4]
            let stream = Array(queue[offset...]) + head + body
            for written in 0..<stream.count {
                var kept = queue
                var keptOffset = offset
                kept.keepUnwritten(written, offset: &keptOffset, then: head, body)
                #expect(Array(kept[keptOffset...]) == Array(stream[written...]), "offset \(offset), written \(written)")
            }
        }
    }
}
