import Testing

@testable import HoldfastWebSocket

/// A run of broadcasts is joined once per variant and shared by every member that takes it.
@Suite struct JoinedFramesTests {
    @Test func framesJoinInOrderWithTheirEnds() {
        var joined = JoinedFrames()
        joined.append([1, 2, 3])
        joined.append([4])
        joined.append([5, 6])
        #expect(joined.bytes == [1, 2, 3, 4, 5, 6])
        #expect(joined.ends == [3, 4, 6])
    }

    @Test func eachVariantIsJoinedOnceAndKept() {
        let run = SharedFrameRun([[UInt8(1)], [2, 3]][...])
        var calls = 0
        let second = run.frames(variant: 1) { calls += 1; return $0.map { $0 + 10 } }
        #expect(second.bytes == [11, 12, 13] && second.ends == [1, 3])
        #expect(run.frames(variant: 1) { _ in Issue.record("joined again"); return nil }.bytes == [11, 12, 13])
        let first = run.frames(variant: 0) { calls += 1; return $0.count == 2 ? $0 : nil }
        #expect(first.bytes == [2, 3] && first.ends == [2])  // a message without this variant is left out
        #expect(calls == 4)
    }
}
