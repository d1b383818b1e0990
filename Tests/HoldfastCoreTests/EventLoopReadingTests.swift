import Glibc
import HoldfastCore
import Testing

/// ``EventLoop/readAvailable(_:rounds:_:)`` over real socket pairs: where reading stops and what it reports.
@Suite struct EventLoopReadingTests {
    private func send(_ fd: Int32, _ count: Int) {
        let bytes = [UInt8](repeating: 7, count: count)
        #expect(bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, count) } == count)
    }

    private func outcome(_ chunk: ReadChunk) -> String {
        switch chunk {
        case .bytes(let bytes): "\(bytes.count)"
        case .endOfInput: "end"
        case .failed: "failed"
        }
    }

    @Test func aReadThatLeavesTheBufferRoomEndsTheTurn() throws {
        let loop = try EventLoop(readBufferSize: 64)
        let (ours, theirs) = makeSocketPair()
        defer { close(ours); close(theirs) }
        send(theirs, 10)
        var seen: [String] = []
        #expect(loop.readAvailable(ours) { seen.append(outcome($0)); return true })
        #expect(seen == ["10"])
    }

    @Test func aFullBufferReadsAgainUpToTheRounds() throws {
        let loop = try EventLoop(readBufferSize: 16)
        let (ours, theirs) = makeSocketPair()
        defer { close(ours); close(theirs) }
        send(theirs, 100)
        var seen: [String] = []
        #expect(loop.readAvailable(ours, rounds: 4) { seen.append(outcome($0)); return true })
        #expect(seen == ["16", "16", "16", "16"])
        seen = []
        // The rest waits for the next turn; a handler that wants no more stops after one chunk.
        #expect(loop.readAvailable(ours, rounds: 4) { seen.append(outcome($0)); return false })
        #expect(seen == ["16"])
        seen = []
        #expect(loop.readAvailable(ours) { seen.append(outcome($0)); return true })
        #expect(seen == ["16", "4"])
    }

    @Test func nothingToReadReportsNoBytes() throws {
        let loop = try EventLoop(readBufferSize: 64)
        let (ours, theirs) = makeSocketPair()
        defer { close(ours); close(theirs) }
        var calls = 0
        #expect(!loop.readAvailable(ours) { _ in calls += 1; return true })
        #expect(calls == 0)
    }

    @Test func theEndOfInputComesAfterTheLastBytes() throws {
        let loop = try EventLoop(readBufferSize: 16)
        let (ours, theirs) = makeSocketPair()
        defer { close(ours) }
        send(theirs, 16)
        close(theirs)
        var seen: [String] = []
        #expect(loop.readAvailable(ours) { seen.append(outcome($0)); return true })
        #expect(seen == ["16", "end"])
        seen = []
        #expect(!loop.readAvailable(ours) { seen.append(outcome($0)); return true })
        #expect(seen == ["end"])
    }

    @Test func aFailedReadIsReported() throws {
        let loop = try EventLoop(readBufferSize: 16)
        var seen: [String] = []
        #expect(!loop.readAvailable(-1) { seen.append(outcome($0)); return true })
        #expect(seen == ["failed"])
    }
}
