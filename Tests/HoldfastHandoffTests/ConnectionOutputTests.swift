import Glibc
import HoldfastBytes
import HoldfastHandoff
import Testing

/// A staged connection whose only change is output crosses a round as that output alone: the record keeps its
/// bytes, applies to the staged copy to give the connection the whole record would have carried, and a round sends
/// it only when nothing else moved and the new process takes it.
@Suite struct ConnectionOutputTests {
    static let output = ConnectionOutput(key: 7, deadline: 123_456_789, outbound: [0x41, 0x42], tls: [7, 7, 7])
    static let plainOutput = ConnectionOutput(key: 300, deadline: 0, outbound: [], tls: nil)
    // Kind "o", key 7 and deadline 123,456,789 (zigzag varints), the queue, the TLS state (present, 3 bytes).
    static let golden: [UInt8] = [0x6F, 0x0E, 0xAA, 0xB4, 0xDE, 0x75, 0x02, 0x41, 0x42, 0x01, 0x03, 0x07, 0x07, 0x07]
    static let plainGolden: [UInt8] = [0x6F, 0xD8, 0x04, 0x00, 0x00, 0x00]

    @Test func theRecordKeepsItsBytes() throws {
        #expect(Self.output.encode() == Self.golden)
        #expect(Self.plainOutput.encode() == Self.plainGolden)
        #expect(try ConnectionOutput(decoding: Self.golden) == Self.output)
        #expect(try ConnectionOutput(decoding: Self.plainGolden) == Self.plainOutput)
        #expect(HandoffFormat.connectionOutputRecord == 0x6F)
    }

    @Test func damagedRecordsAreRefusedNeverTrapped() {
        for length in 0..<Self.golden.count {
            #expect(throws: ByteReadError.self) { try ConnectionOutput(decoding: Array(Self.golden.prefix(length))) }
        }
        #expect(throws: ByteReadError.self) { try ConnectionOutput(decoding: Self.golden + [0]) }
        var otherKind = Self.golden
        otherKind[0] = HandoffFormat.finalConnectionRecord
        #expect(throws: ByteReadError.self) { try ConnectionOutput(decoding: otherKind) }
        // A key beyond an fd number.
        var wideKey = ByteWriter()
        wideKey.byte(HandoffFormat.connectionOutputRecord)
        wideKey.signed(Int64(Int32.max) + 1)
        #expect(throws: ByteReadError.self) { try ConnectionOutput(decoding: wideKey.bytes + [0, 0, 0]) }
    }

    @Test func appliedToTheStagedCopyItGivesTheConnectionAndNothingElseMoves() {
        let staged = HandoffGoldenBytesTests.connection
        var now = staged
        (now.outbound, now.tls, now.deadline) = ([1, 2, 3], [9, 9, 9], 5)
        let output = ConnectionOutput(key: 4, of: now)
        #expect(output.applied(to: staged) == now)
        #expect(staged.differsOnlyInOutput(from: now))
        #expect(staged.differsOnlyInOutput(from: staged))
        var moved = now
        moved.inbound = [0x81]
        #expect(!staged.differsOnlyInOutput(from: moved))
        var lostTLS = now
        lostTLS.tls = nil
        #expect(!staged.differsOnlyInOutput(from: lostTLS))
        var joined = now
        joined.phoenix?.joins = []
        #expect(!staged.differsOnlyInOutput(from: joined))
    }

    @Test func aRoundSendsNothingTheOutputOrTheWholeConnection() {
        let kept = StagedGeneration(state: 3, output: 5, updatable: true)
        #expect(kept.change(state: 3, output: 5, pendingOutput: false) == .none)
        #expect(kept.change(state: 3, output: 6, pendingOutput: false) == .output, "a TLS record sealed")
        #expect(kept.change(state: 3, output: 5, pendingOutput: true) == .output, "a broadcast queued")
        #expect(kept.change(state: 4, output: 5, pendingOutput: false) == .whole, "input, a join, a deadline")
        let queuedThen = StagedGeneration(state: 3, output: .max, updatable: true)
        #expect(queuedThen.change(state: 3, output: 5, pendingOutput: false) == .output, "written since")
        let notKept = StagedGeneration(state: 3, output: 5, updatable: false)
        #expect(notKept.change(state: 3, output: 6, pendingOutput: true) == .whole, "copy not kept, or not accepted")
        #expect(notKept.change(state: 3, output: 5, pendingOutput: false) == .none)
        let awaiting = StagedGeneration(state: .max, output: 5, updatable: true)
        #expect(awaiting.change(state: .max, output: 5, pendingOutput: false) == .whole, "a publish awaited")
    }

    @Test func outputsGoBetweenTheChangedConnectionsAndTheClosedKeys() throws {
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        var changes = FinalConnections()
        changes.changed = [(7, HandoffRecordTests.connection.encode(), nil)]
        changes.outputs = [Self.output, Self.plainOutput]
        changes.closed = [11]
        let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 1000)
        let bytes = try changes.write(to: writer)
        try writer.finish()
        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 1000)
        var records: [[UInt8]] = []
        while let (state, fd) = try reader.next() {
            #expect(fd == nil)
            records.append(state)
        }
        #expect(records.map(\.first) == [
            HandoffFormat.finalConnectionRecord, HandoffFormat.connectionOutputRecord,
            HandoffFormat.connectionOutputRecord, HandoffFormat.closedKeysRecord,
        ])
        #expect(try records[1...2].map(ConnectionOutput.init(decoding:)) == [Self.output, Self.plainOutput])
        #expect(bytes == records.reduce(0) { $0 + $1.count })
        let merged = FinalConnections.merge([changes, changes])
        #expect(merged.outputs == [Self.output, Self.plainOutput, Self.output, Self.plainOutput])
    }
}
