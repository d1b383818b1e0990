import Glibc
import HoldfastHandoff
import Testing

/// What a catch-up round or the pause sends about the connections: the loops' parts merge in order, and the
/// records read back as the new process reads them (a changed connection with its fd only when it was not staged,
/// then the closed keys).
@Suite struct FinalConnectionsTests {
    @Test func mergesTheLoopsPartsInOrder() {
        var first = FinalConnections()
        first.changed = [(3, [1], nil)]
        first.closed = [9]
        first.open = 10
        var second = FinalConnections()
        second.changed = [(4, [2], 4)]
        second.open = 5
        second.leftBehind = 1
        let merged = FinalConnections.merge([first, second])
        #expect(merged.changed.map(\.key) == [3, 4])
        #expect(merged.changed.map(\.fd) == [nil, 4])
        #expect(merged.closed == [9])
        #expect((merged.open, merged.leftBehind) == (15, 1))
    }

    @Test func writesChangedConnectionsThenTheClosedKeys() throws {
        var pipe: [Int32] = [0, 0]
        try #require(Glibc.pipe(&pipe) == 0)
        defer { pipe.forEach { close($0) } }
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        let snapshot = HandoffRecordTests.connection
        var changes = FinalConnections()
        changes.changed = [(7, snapshot.encode(), nil), (8, snapshot.encode(), pipe[1])]
        changes.closed = [11, 12]

        let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 1000)
        try changes.write(to: writer)
        try writer.finish()

        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 1000)
        let staged = try #require(try reader.next())
        #expect(staged.state.first == HandoffFormat.finalConnectionRecord)
        #expect(staged.fd == nil, "a staged connection's socket is not sent again")
        let decoded = try KeyedConnectionRecord.decode(staged.state)
        #expect(decoded.key == 7 && decoded.snapshot == snapshot)
        let new = try #require(try reader.next())
        let fd = try #require(new.fd)
        defer { close(fd) }
        #expect(try KeyedConnectionRecord.decode(new.state).key == 8)
        let closed = try #require(try reader.next())
        #expect(closed.fd == nil)
        #expect(try ClosedKeysRecord.decode(closed.state) == [11, 12])
        #expect(try reader.next() == nil)
    }
}
