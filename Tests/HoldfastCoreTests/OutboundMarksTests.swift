import Testing

@testable import HoldfastCore

/// The slow-consumer check counts only what is queued behind the message being written.
@Suite struct OutboundMarksTests {
    @Test func aSingleMessageIsNeverBehindItself() {
        var marks = OutboundMarks()
        marks.messageQueued(behind: 0)
        #expect(marks.bytesBehindHead(pending: 16 << 20) == 0)
        marks.wrote(1 << 20)
        #expect(marks.bytesBehindHead(pending: 15 << 20) == 0)
    }

    @Test func messagesBehindTheHeadCountUntilTheyBecomeTheHead() {
        var marks = OutboundMarks()
        marks.messageQueued(behind: 0)  // 100 bytes, written first
        marks.messageQueued(behind: 100)  // 50 bytes
        marks.messageQueued(behind: 150)  // 30 bytes
        #expect(marks.bytesBehindHead(pending: 180) == 80)
        marks.wrote(99)
        #expect(marks.bytesBehindHead(pending: 81) == 80)
        marks.wrote(1)
        #expect(marks.bytesBehindHead(pending: 80) == 30)
        marks.wrote(60)
        #expect(marks.bytesBehindHead(pending: 20) == 0)
    }

    @Test func aRunQueuedOnAnEmptyQueueCountsLikeItsMessagesOneByOne() {
        // Frames of 100, 50 and 30 bytes joined into one run (its `ends`), then a 40-byte message behind them.
        var joined = OutboundMarks()
        joined.messagesQueued(behind: 0, ends: [100, 150, 180])
        joined.messageQueued(behind: 180)
        var single = OutboundMarks()
        for behind in [0, 100, 150, 180] { single.messageQueued(behind: behind) }
        var pending = 220
        for step in [0, 99, 1, 30, 20, 29, 1, 39] {
            joined.wrote(step)
            single.wrote(step)
            pending -= step
            #expect(joined.bytesBehindHead(pending: pending) == single.bytesBehindHead(pending: pending))
        }
        // Drained, both start over, and a later run marks its own frames again.
        joined.drained()
        joined.messagesQueued(behind: 0, ends: [10, 20])
        #expect(joined.bytesBehindHead(pending: 20) == 10)
        joined.drained()
        #expect(joined.written == 0 && joined.bytesBehindHead(pending: 0) == 0)
    }

    @Test func drainingStartsThePositionsOver() {
        var marks = OutboundMarks()
        marks.messageQueued(behind: 10)
        marks.drained()
        #expect(marks.written == 0)
        marks.messageQueued(behind: 0)
        #expect(marks.bytesBehindHead(pending: 1000) == 0)
    }

    @Test func sealingMovesTheMarksByTheirShareOfTheRecordOverhead() {
        var marks = OutboundMarks()
        marks.messageQueued(behind: 0)
        marks.messageQueued(behind: 1000)  // plaintext queued at 1000 behind 1000 bytes
        marks.sealed(from: 0, plain: 2000, into: 2044)
        // The second message now starts at 1022 and runs to the end, 2044.
        #expect(marks.bytesBehindHead(pending: 2044) == 1022)
        marks.wrote(1022)
        #expect(marks.bytesBehindHead(pending: 1022) == 0)
    }

    @Test func aLongBackedUpQueueKeepsItsMarksBounded() {
        var marks = OutboundMarks()
        marks.messageQueued(behind: 0)
        var pending = 10
        for _ in 0..<10_000 {
            marks.messageQueued(behind: pending)
            pending += 10
            marks.wrote(10)
            pending -= 10
            #expect(marks.bytesBehindHead(pending: pending) <= 10)
        }
    }
}

/// Frames joined for many connections are queued with one call and still count one by one.
@Suite struct OutboundMarksJoinedTests {
    @Test func aJoinedRunMarksEveryFrameLikeSeparateMessages() {
        var joined = OutboundMarks()
        joined.messageQueued(behind: 0)  // 40 bytes already being written
        joined.messagesQueued(behind: 40, ends: [100, 150, 180])
        var separate = OutboundMarks()
        separate.messageQueued(behind: 0)
        separate.messageQueued(behind: 40)
        separate.messageQueued(behind: 140)
        separate.messageQueued(behind: 190)
        var pending = 220
        for step in [39, 1, 99, 1, 49, 1, 30] {
            #expect(joined.bytesBehindHead(pending: pending) == separate.bytesBehindHead(pending: pending))
            joined.wrote(step)
            separate.wrote(step)
            pending -= step
        }
        #expect(joined.bytesBehindHead(pending: pending) == 0)
    }

    @Test func aRunIntoAnEmptyQueueLeavesOnlyItsFirstFrameOutOfTheCount() {
        var marks = OutboundMarks()
        marks.messagesQueued(behind: 0, ends: [100, 150, 180])
        #expect(marks.bytesBehindHead(pending: 180) == 80)
        marks.wrote(100)
        #expect(marks.bytesBehindHead(pending: 80) == 30)
    }
}
