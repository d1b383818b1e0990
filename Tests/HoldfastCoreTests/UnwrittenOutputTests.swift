import Glibc
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

/// What a drained output buffer keeps: small storage for the next message, nothing of a large or shared one.
@Suite struct DrainedOutputTests {
    /// Writes `buffer` through a real socket until the kernel took it all, reading the other end meanwhile.
    private func drain(_ buffer: [UInt8]) -> Int {
        let (writer, reader) = makeSocketPair()
        defer { _ = (close(writer), close(reader)) }
        var offset = 0
        var sink = [UInt8](repeating: 0, count: 64 * 1024)
        while offset < buffer.count {
            let result = buffer.withUnsafeBytes {
                Socket.write(writer, UnsafeRawBufferPointer(rebasing: $0[offset...]))
            }
            if case .done(let count) = result { offset += count }
            _ = sink.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
        }
        return offset
    }

    @Test func aSmallBufferKeepsItsStorage() {
        var output: [UInt8] = []
        output.append(contentsOf: [UInt8](repeating: 7, count: 100))
        #expect(drain(output) == 100)
        let capacity = output.capacity
        output.removeAllWritten(keepingCapacityUpTo: 256)
        #expect(output.isEmpty)
        #expect(output.capacity == capacity, "an echo's buffer is reused, not allocated again")
    }

    @Test func aLargeBufferIsReleasedAsSoonAsItDrains() {
        var output: [UInt8] = []
        output.append(contentsOf: [UInt8](repeating: 7, count: 200 * 1024))
        #expect(drain(output) == 200 * 1024)
        output.removeAllWritten(keepingCapacityUpTo: 256)
        #expect(output.isEmpty)
        #expect(output.capacity == 0)
    }

    @Test func aSharedRunIsDroppedWithoutACopy() {
        let run = [UInt8](repeating: 9, count: 100)
        var output = run  // shares the run's storage, as a connection's queue shares a fan-out's joined frames
        #expect(drain(output) == 100)
        output.removeAllWritten(keepingCapacityUpTo: 256, shared: true)
        #expect(output.capacity == 0)
        #expect(run == [UInt8](repeating: 9, count: 100))
    }
}
