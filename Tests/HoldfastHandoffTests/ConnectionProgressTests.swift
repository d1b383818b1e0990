import HoldfastAPI
import HoldfastBytes
import HoldfastChannels
import HoldfastHandoff
import HoldfastWebSocket
import Testing

/// A staged connection whose change since staging is no more than reading (a heartbeat, a message read, a frame
/// half received) and output crosses a round as that progress: the record keeps its bytes, applied to the staged
/// copy it gives the connection the whole record would have carried, and a round sends it only when the connection
/// differs from its staged bytes in nothing else and the new process takes it.
@Suite struct ConnectionProgressTests {
    static let progress = ConnectionProgress(
        output: ConnectionOutput(key: 7, deadline: 5, outbound: [0x41], tls: [7, 7]), inbound: [0x81],
        plainInbound: [9], openMessage: .text, utf8State: 3, partialMessage: [0x68], lastReceivedAt: 99,
        rateWindowStart: -5, rateWindowCount: 17)
    static let bare = ConnectionProgress(
        output: ConnectionOutput(key: 300, deadline: 0, outbound: [], tls: nil), inbound: [], plainInbound: [],
        openMessage: nil, utf8State: 0, partialMessage: [], lastReceivedAt: 0, rateWindowStart: 0, rateWindowCount: 0)
    // Kind "p", key 7, deadline 5 (zigzag varints), the queue, the TLS state (present, 2 bytes), inbound, plain
    // inbound, opcode text + 1, UTF-8 state 3, the partial message, 99, -5 and 17 (zigzag).
    static let golden: [UInt8] = [
        0x70, 0x0E, 0x0A, 0x01, 0x41, 0x01, 0x02, 0x07, 0x07, 0x01, 0x81, 0x01, 0x09, 0x02, 0x03, 0x01, 0x68,
        0xC6, 0x01, 0x09, 0x22,
    ]
    static let bareGolden: [UInt8] = [
        0x70, 0xD8, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    /// The golden connection as a round can keep its copy (no zlib windows, nothing queued).
    static var staged: ConnectionSnapshot {
        var snapshot = HandoffGoldenBytesTests.connection
        snapshot.webSocket?.inflateWindow = nil
        snapshot.outbound = []
        return snapshot
    }

    @Test func theRecordKeepsItsBytes() throws {
        #expect(Self.progress.encode() == Self.golden)
        #expect(Self.bare.encode() == Self.bareGolden)
        #expect(try ConnectionProgress(decoding: Self.golden) == Self.progress)
        #expect(try ConnectionProgress(decoding: Self.bareGolden) == Self.bare)
        #expect(HandoffFormat.connectionProgressRecord == 0x70)
        #expect(HandoffFeatures.stagedConnectionProgress.rawValue == 4)
        #expect(HandoffFeatures.supported.contains(.stagedConnectionProgress))
    }

    @Test func damagedRecordsAreRefusedNeverTrapped() {
        for length in 0..<Self.golden.count {
            #expect(throws: ByteReadError.self) { try ConnectionProgress(decoding: Array(Self.golden.prefix(length))) }
        }
        #expect(throws: ByteReadError.self) { try ConnectionProgress(decoding: Self.golden + [0]) }
        var otherKind = Self.golden
        otherKind[0] = HandoffFormat.connectionOutputRecord
        #expect(throws: ByteReadError.self) { try ConnectionProgress(decoding: otherKind) }
        var badOpcode = Self.golden
        badOpcode[13] = 0x7F
        #expect(throws: ByteReadError.self) { try ConnectionProgress(decoding: badOpcode) }
    }

    @Test func appliedToTheStagedCopyItGivesTheConnectionAndNothingElseMoves() {
        let staged = Self.staged
        var now = staged
        (now.outbound, now.tls, now.deadline, now.inbound, now.plainInbound) = ([1], [9, 9, 9], 5, [0x81, 0x02], [])
        now.webSocket?.openMessage = nil
        now.webSocket?.partialMessage = []
        now.phoenix?.lastReceivedAt = 1_000
        now.phoenix?.rateWindowCount = 18
        let progress = ConnectionProgress(key: 4, of: now)
        #expect(progress.applied(to: staged) == now)
        #expect(staged.differsOnlyInProgress(from: now))
        #expect(staged.differsOnlyInProgress(from: staged))
        var joined = now
        joined.phoenix?.joins = []
        #expect(!staged.differsOnlyInProgress(from: joined), "a join moved")
        var channel = now
        channel.phoenix?.channels[1].status = .joined
        #expect(!staged.differsOnlyInProgress(from: channel), "a channel's state moved")
        var closing = now
        closing.phase = .webSocketClosing
        #expect(!staged.differsOnlyInProgress(from: closing), "the phase moved")
        var lostTLS = now
        lostTLS.tls = nil
        #expect(!staged.differsOnlyInProgress(from: lostTLS))
        var compressing = staged
        compressing.webSocket?.inflateWindow = [1]
        #expect(!compressing.differsOnlyInProgress(from: compressing), "zlib windows: the copy is not kept")
        var awaiting = now
        awaiting.awaitedPublish = AwaitedPublish(
            keepAlive: true, topics: [AwaitedPublish.Topic(topic: "room:a", state: .waiting(ticket: 300))])
        #expect(!staged.differsOnlyInProgress(from: awaiting))
    }

    @Test func aRoundSendsProgressOnlyWhenThatIsAllThatMoved() {
        typealias Fake = StagedRoundTests.Fake
        let (read, joined, queued, same) = (Fake(3), Fake(4), Fake(5), Fake(6))
        var staged = StagedLoop(
            copies: [read, joined, queued, same].map { connection in
                (connection.fd, connection.stagedGeneration(updatable: true), connection.snapshot!.encode())
            }, keepBytes: false, progress: true)
        #expect(!staged.verifies && staged.bytes.count == 4)
        read.state += 1  // a heartbeat read: input and the session's clock
        read.snapshot?.phoenix?.lastReceivedAt = 5_000
        read.snapshot?.inbound = [0x81]
        read.queueOutput()  // and its reply
        joined.state += 1
        joined.snapshot?.phoenix?.joins = []
        queued.queueOutput()
        var result = staged.round([read, joined, queued, same], loopIndex: 0, keepBytes: false, outputs: true,
                                  progress: true) { _, _ in Issue.record("no check without test hooks") }
        #expect(result.progress == [ConnectionProgress(key: 3, of: read.snapshot!)])
        #expect(result.changed.map(\.key) == [4])
        #expect(result.outputs.map(\.key) == [5])
        #expect(result.open == 4)
        // What was sent is staged now: the next read is measured against it.
        read.state += 1
        read.snapshot?.phoenix?.rateWindowCount = 30
        result = staged.round([read], loopIndex: 0, keepBytes: false, outputs: true, progress: true) { _, _ in }
        #expect(result.progress.map(\.key) == [3] && result.changed.isEmpty)
        // Without the feature the same change goes whole.
        read.state += 1
        result = staged.round([read], loopIndex: 0, keepBytes: false, outputs: true, progress: false) { _, _ in }
        #expect(result.progress.isEmpty && result.changed.map(\.key) == [3])
    }

    /// The new process checks a record against its copy with `fits`, without comparing the two whole: it must
    /// agree with the whole comparison on every copy, those that may take progress and those that may not.
    @Test func theNewProcessCheckAgreesWithTheWholeComparison() {
        var copies: [ConnectionSnapshot] = [Self.staged]
        var closing = Self.staged
        closing.phase = .webSocketClosing
        var plain = Self.staged
        plain.tls = nil
        var compressing = Self.staged
        compressing.webSocket?.inflateWindow = [1]
        var awaiting = Self.staged
        awaiting.awaitedPublish = AwaitedPublish(
            keepAlive: true, topics: [AwaitedPublish.Topic(topic: "room:a", state: .waiting(ticket: 300))])
        var noWebSocket = Self.staged
        noWebSocket.webSocket = nil
        var echo = Self.staged
        echo.phoenix = nil
        copies += [closing, plain, compressing, awaiting, noWebSocket, echo]
        for copy in copies {
            for progress in [Self.progress, Self.bare] {
                #expect(progress.fits(copy) == copy.differsOnlyInProgress(from: progress.applied(to: copy)))
            }
        }
        #expect(Self.progress.fits(Self.staged) && !Self.bare.fits(Self.staged), "TLS on one side only")
        #expect(Self.bare.fits(plain) && !Self.progress.fits(closing) && !Self.progress.fits(awaiting))
    }

    /// In the pause (no round follows) a connection sent as its progress is not encoded whole to be kept.
    @Test func theLastRoundKeepsNothingForARoundAfterIt() {
        typealias Fake = StagedRoundTests.Fake
        let (read, joined) = (Fake(3), Fake(4))
        var staged = StagedLoop(
            copies: [read, joined].map { ($0.fd, $0.stagedGeneration(updatable: true), $0.snapshot!.encode()) },
            keepBytes: false, progress: true)
        read.state += 1
        read.snapshot?.phoenix?.lastReceivedAt = 5_000
        joined.state += 1
        joined.snapshot?.phoenix?.joins = []
        var last = staged
        let result = last.round([read, joined], loopIndex: 0, keepBytes: false, outputs: true, progress: true,
                                last: true) { _, _ in Issue.record("no check without test hooks") }
        #expect(result.progress == [ConnectionProgress(key: 3, of: read.snapshot!)])
        #expect(result.changed.map(\.key) == [4] && result.changed.map(\.snapshot) == [joined.snapshot!.encode()])
        #expect(last.bytes == staged.bytes, "the staged bytes stay as they were")
        // The same round with another after it keeps what it sent.
        let next = staged.round(
            [read, joined], loopIndex: 0, keepBytes: false, outputs: true, progress: true) { _, _ in }
        #expect(next.progress == result.progress && next.changed.map(\.key) == [4])
        #expect(staged.bytes[3] == read.snapshot!.encode() && staged.bytes[4] == joined.snapshot!.encode())
    }

    @Test func progressGoesAfterTheOutputsAndIsCounted() throws {
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        var changes = FinalConnections()
        changes.outputs = [ConnectionOutputTests.output]
        changes.progress = [Self.progress, Self.bare]
        let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 1000)
        let bytes = try changes.write(to: writer)
        try writer.finish()
        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 1000)
        var records: [[UInt8]] = []
        while let (state, _) = try reader.next() { records.append(state) }
        #expect(records.map(\.first) == [
            HandoffFormat.connectionOutputRecord, HandoffFormat.connectionProgressRecord,
            HandoffFormat.connectionProgressRecord, HandoffFormat.closedKeysRecord,
        ])
        #expect(bytes == records.reduce(0) { $0 + $1.count })
        #expect(FinalConnections.merge([changes, changes]).progress.count == 4)
    }
}
