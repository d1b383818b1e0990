import Glibc
import HoldfastAPI
import HoldfastBytes
import HoldfastChannels
import HoldfastHTTP
import HoldfastHandoff
import HoldfastRooms
import HoldfastJSON
import HoldfastPresence
import HoldfastWebSocket
import Testing

/// The wire format stays byte for byte what older binaries write and read: each record kind encodes to its
/// golden bytes, and the golden bytes decode to the same value.
@Suite struct HandoffGoldenBytesTests {
    static let presence = PresenceSnapshot(
        refPrefix: "abc", nextRefNumber: 5,
        entries: [
            PresenceSnapshot.Entry(
                owner: 42, key: "alice", ref: "abc.3", previousRef: "abc.1",
                fields: [JSONMember("device", .string("phone"))])
        ],
        changes: [PresenceSnapshot.Change(ref: "abc.3", before: nil)])

    static let connection = ConnectionSnapshot(
        loopIndex: 1, isAdmin: false, overLimit: true, phase: .webSocket, deadline: 123_456_789,
        closeWhenFlushed: false, inbound: [0x81, 0x85, 1, 2], plainInbound: [9, 8, 7], outbound: [0x41, 0x42],
        tls: [7, 7, 7], application: .phoenix,
        webSocket: WebSocketConnectionState(
            limits: WebSocketLimits(maxFrameSize: 1000, maxMessageSize: 2000),
            deflate: PerMessageDeflateParameters(
                serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 12,
                clientMaxWindowBits: 15),
            minimumSizeToCompress: 64, compressionLevel: 6, memoryLevel: 8, closeSent: false, openMessage: .text,
            utf8State: 3, partialMessage: Array("half".utf8), inflateWindow: [1, 2, 3, 4], deflateWindow: nil),
        phoenix: PhoenixSnapshot(
            connectionID: 42, user: "alice", version: .v2,
            channels: [
                JoinedChannel(topic: "room:a", joinRef: "3", joinMessageRef: "3", status: .joined),
                JoinedChannel(topic: "room:b", joinRef: nil, joinMessageRef: "9", status: .joining),
            ],
            lastReceivedAt: 99, rateWindowStart: -5, rateWindowCount: 17,
            joins: [PhoenixSnapshot.Join(topic: "room:a", joinRef: "3")]))

    static let plainConnection = ConnectionSnapshot(
        loopIndex: 0, isAdmin: true, overLimit: false, phase: .http, deadline: 0, closeWhenFlushed: true,
        inbound: [], plainInbound: [], outbound: Array("HTTP".utf8), tls: nil, application: .echo, webSocket: nil,
        phoenix: nil)

    static let pending = [
        PendingMessage(
            message: ChatMessage(id: 77, user: "alice", body: "hi", timestamp: 5, clientID: "c1"),
            senderConnectionID: 42, ref: "9"),
        PendingMessage(
            message: ChatMessage(id: 78, user: "bob", body: "yo", timestamp: -1, clientID: nil),
            senderConnectionID: 43, ref: nil),
    ]

    @Test func theHeaderKeepsItsBytes() throws {
        let header = HandoffHeader(
            pid: 1234, binaryVersion: "0.1.0+dev", nextConnectionID: 99, handlerChain: ["/a.so", "/b.so"],
            handlerVersion: "2.0.0", handlerState: [1, 2, 3])
        // Format 2 writes its number; the rest of the header is unchanged, and a format 1 header is still read.
        var formatTwo = GoldenBytes.header
        formatTwo[1] = 2
        #expect(header.encode() == formatTwo)
        #expect(try HandoffHeader(decoding: GoldenBytes.header) == header)
        #expect(try HandoffHeader(decoding: formatTwo) == header)
        #expect(HandoffFormat.version == 2 && HandoffFormat.readable == 1...2)
        var formatThree = GoldenBytes.header
        formatThree[1] = 3
        #expect(throws: ByteReadError.self) { try HandoffHeader(decoding: formatThree) }
    }

    @Test func aFormatTwoRoomRecordCarriesEditsDeletesAndAuthorsAndAFormatOneRecordStillReads() throws {
        var pending = Self.pending
        pending[1].message.kind = .delete
        pending[1].message.target = 70
        let room = RoomSnapshot(
            topic: "room:a", lastID: 78, presence: nil, awaitingState: [], pending: pending,
            authors: MessageAuthors(entries: [(70, "bob"), (77, "alice")]))
        let decoded = try RoomSnapshot(decoding: room.encode())
        #expect(decoded == room && decoded.handler == nil)
        #expect(decoded.pending[1].message.kind == .delete && decoded.pending[1].message.target == 70)
        #expect(decoded.authors.entries.map(\.id) == [70, 77])
        // A record with nothing of format 2 keeps format 1's bytes: the golden room records still match.
        let plain = RoomSnapshot(topic: "room:a", lastID: 78, presence: nil, awaitingState: [], pending: Self.pending)
        #expect(try RoomSnapshot(decoding: plain.encode()) == plain)
    }

    @Test func listenersKeepTheirBytes() throws {
        let tls = ListenerSnapshot(kind: .tls, loopIndex: 1)
        let admin = ListenerSnapshot(kind: .admin, loopIndex: 300)
        #expect(tls.encode() == GoldenBytes.tlsListener)
        #expect(admin.encode() == GoldenBytes.adminListener)
        #expect(try ListenerSnapshot(decoding: GoldenBytes.tlsListener) == tls)
        #expect(try ListenerSnapshot(decoding: GoldenBytes.adminListener) == admin)
    }

    @Test func connectionsKeepTheirBytes() throws {
        #expect(Self.connection.encode() == GoldenBytes.connection)
        #expect(Self.plainConnection.encode() == GoldenBytes.plainConnection)
        #expect(try ConnectionSnapshot(decoding: GoldenBytes.connection) == Self.connection)
        #expect(try ConnectionSnapshot(decoding: GoldenBytes.plainConnection) == Self.plainConnection)
    }

    @Test func anAPIConnectionAwaitingAPublishAddsATrailingSection() throws {
        var awaiting = Self.plainConnection
        awaiting.awaitedPublish = AwaitedPublish(
            keepAlive: true, topics: [AwaitedPublish.Topic(topic: "room:a", state: .waiting(ticket: 300))])
        // The record of older builds, then the room, the ticket (varint) and keep-alive.
        let golden = GoldenBytes.plainConnection + [0x06] + Array("room:a".utf8) + [0xAC, 0x02, 0x01]
        #expect(awaiting.encode() == golden)
        #expect(try ConnectionSnapshot(decoding: golden) == awaiting)
        #expect(try ConnectionSnapshot(decoding: GoldenBytes.plainConnection).awaitedPublish == nil)
        #expect(throws: (any Error).self) { try ConnectionSnapshot(decoding: Array(golden.dropLast())) }
        #expect(awaiting.differences(from: Self.plainConnection) == ["awaitedPublish"])
    }

    @Test func aBroadcastAwaitingSomeRoomsListsEveryTopicAfterAnEmptyOne() throws {
        var awaiting = Self.plainConnection
        let refused = APIError(.unprocessableContent, "refused", "no")
        awaiting.awaitedPublish = AwaitedPublish(
            keepAlive: false,
            topics: [
                AwaitedPublish.Topic(topic: "room:a", state: .done(.success(7))),
                AwaitedPublish.Topic(topic: "room:b", state: .waiting(ticket: 300)),
                AwaitedPublish.Topic(topic: "room:c", state: .done(.failure(refused))),
            ])
        let bytes = awaiting.encode()
        // Where older builds read a topic, a ticket and keep-alive: an empty topic, 0, then the list they refuse.
        let tail = Array(bytes.dropFirst(GoldenBytes.plainConnection.count))
        #expect(Array(bytes.prefix(GoldenBytes.plainConnection.count)) == GoldenBytes.plainConnection)
        #expect(Array(tail.prefix(4)) == [0x00, 0x00, 0x00, 0x03])
        #expect(Array(tail.dropFirst(4).prefix(9)) == [0x06] + Array("room:a".utf8) + [0x01, 0x0E])
        #expect(try ConnectionSnapshot(decoding: bytes) == awaiting)
        for cut in 1..<tail.count {
            #expect(throws: (any Error).self) { try ConnectionSnapshot(decoding: Array(bytes.dropLast(cut))) }
        }
        // A single topic already answered (a copy staged just before its answer is written) takes the list too.
        awaiting.awaitedPublish?.topics = [AwaitedPublish.Topic(topic: "room:a", state: .done(.success(7)))]
        #expect(try ConnectionSnapshot(decoding: awaiting.encode()) == awaiting)
    }

    /// Found by the handoff fuzzer: one waiting topic with an empty name must take the list, since an empty name
    /// in the short form's place is what marks the list.
    @Test func aLoneWaitingTopicWithAnEmptyNameStillReadsBack() throws {
        var awaiting = Self.plainConnection
        awaiting.awaitedPublish = AwaitedPublish(
            keepAlive: false, topics: [AwaitedPublish.Topic(topic: "", state: .waiting(ticket: 0))])
        #expect(try ConnectionSnapshot(decoding: awaiting.encode()) == awaiting)
    }

    @Test func aPendingServerAPIMessageCarriesItsTicketInTheRefSlot() throws {
        let message = ChatMessage(id: 79, user: "backend", body: "api", timestamp: 6, clientID: nil)
        let withTicket = RoomSnapshot(
            topic: "room:a", lastID: 79, presence: nil, awaitingState: [],
            pending: [PendingMessage(message: message, senderConnectionID: 0, ref: nil, ticket: 300)])
        var asOlderBuildsWrite = withTicket
        asOlderBuildsWrite.pending[0].ticket = nil
        // The same layout as older builds: sender 0, and the ref slot holds "300" instead of nothing.
        let older = asOlderBuildsWrite.encode()
        let bytes = withTicket.encode()
        #expect(Array(bytes.suffix(6)) == [0x00, 0x01, 0x03] + Array("300".utf8))
        #expect(bytes.count == older.count + 4 && Array(older.suffix(2)) == [0x00, 0x00])
        #expect(try RoomSnapshot(decoding: bytes) == withTicket)
        #expect(try RoomSnapshot(decoding: older) == asOlderBuildsWrite)
    }

    @Test func keyedConnectionsAndClosedKeysKeepTheirBytes() throws {
        let snapshot = Self.plainConnection.encode()
        let staged = KeyedConnectionRecord.encode(
            kind: HandoffFormat.stagedConnectionRecord, key: 19_999, snapshot: snapshot)
        let final = KeyedConnectionRecord.encode(kind: HandoffFormat.finalConnectionRecord, key: -7, snapshot: snapshot)
        #expect(staged == GoldenBytes.stagedConnection)
        #expect(final == GoldenBytes.finalConnection)
        let decoded = try KeyedConnectionRecord.decode(GoldenBytes.finalConnection)
        #expect(decoded.key == -7 && decoded.snapshot == Self.plainConnection)
        #expect(ClosedKeysRecord.encode([3, 17, 19_999]) == GoldenBytes.closedKeys)
        #expect(try ClosedKeysRecord.decode(GoldenBytes.closedKeys) == [3, 17, 19_999])
    }

    @Test func roomsKeepTheirBytes() throws {
        let staged = StagedRoom(topic: "room:a", presenceGeneration: 9, presence: Self.presence)
        let room = RoomSnapshot(
            topic: "room:a", lastID: 78, presence: Self.presence, awaitingState: [42, 300], pending: Self.pending)
        let unchanged = RoomSnapshot(topic: "room:b", lastID: 0, presence: nil, awaitingState: [])
        #expect(staged.encode() == GoldenBytes.stagedRoom)
        #expect(room.encode() == GoldenBytes.room)
        #expect(unchanged.encode() == GoldenBytes.unchangedRoom)
        #expect(try StagedRoom(decoding: GoldenBytes.stagedRoom) == staged)
        #expect(try RoomSnapshot(decoding: GoldenBytes.room) == room)
        #expect(try RoomSnapshot(decoding: GoldenBytes.unchangedRoom) == unchanged)
    }

    @Test func roomsWithChannelHandlerValuesAddATrailingSection() throws {
        let plain = RoomSnapshot(topic: "room:a", lastID: 78, presence: Self.presence, awaitingState: [42])
        var withValues = plain
        withValues.handler = HandlerValues(
            version: "2.1.0", state: .object([JSONMember("reactions", .array([.integer(1), .string("👍")]))]),
            assigns: [42: .object([JSONMember("n", .integer(3))])], timers: [HandlerTimer(due: 70, tag: "slow")])
        let bytes = withValues.encode()
        #expect(Array(bytes.prefix(plain.encode().count)) == plain.encode())
        #expect(try RoomSnapshot(decoding: bytes) == withValues)
        #expect(throws: (any Error).self) { try RoomSnapshot(decoding: Array(bytes.dropLast())) }
    }

    /// Staged: 7 and 42 have assigns, 77 and 78 are authors. Since: 42 changed, 7 cleared, 43 joined with assigns;
    /// 77 forgotten, 79 stored.
    static func stagedWithValues() -> (StagedRoom, RoomSnapshot) {
        var staged = StagedRoom(topic: "room:a", presenceGeneration: 9, presence: Self.presence)
        staged.assigns = [42: .object([JSONMember("n", .integer(3))]), 7: .string("x")]
        staged.authors = MessageAuthors(entries: [(77, "alice"), (78, "bob")])
        var room = RoomSnapshot(
            topic: "room:a", lastID: 79, presence: nil, awaitingState: [42], pending: [Self.pending[0]])
        room.handler = HandlerValues(
            version: "2.1.0", state: .object([JSONMember("k", .integer(1))]),
            assigns: [42: .object([JSONMember("n", .integer(4))]), 43: .bool(true)],
            timers: [HandlerTimer(due: 70, tag: "slow")])
        room.authors = MessageAuthors(entries: [(78, "bob"), (79, "carol")])
        return (staged, room)
    }

    @Test func roomsStagedWithValuesAndTheirChangesKeepTheirBytes() throws {
        let (staged, room) = Self.stagedWithValues()
        #expect(staged.encode(withValues: true) == GoldenBytes.stagedRoomValues)
        #expect(room.encodeChanges(since: StagedRoomValues(staged)) == GoldenBytes.roomChanges)
        #expect(try StagedRoom(decoding: GoldenBytes.stagedRoomValues) == staged)
        #expect(try RoomSnapshot(decoding: GoldenBytes.roomChanges, staged: StagedRoomValues(staged)) == room)
        // The presence-only staging record, the only one an older build receives, stays as it was.
        var presenceOnly = staged
        (presenceOnly.assigns, presenceOnly.authors) = ([:], MessageAuthors())
        #expect(staged.encode() == GoldenBytes.stagedRoom)
        #expect(try StagedRoom(decoding: GoldenBytes.stagedRoom) == presenceOnly)
    }

    @Test(arguments: [
        (HandoffControl.ready(pid: 4321, version: "1.2.3"), GoldenBytes.ready),
        (.ready(pid: 4321, version: "1.2.3", features: .stagedRoomValues), GoldenBytes.readyAccepting),
        (.staged(connections: 19_999), GoldenBytes.staged),
        (.done(connections: 3, rooms: 1, rebuildMilliseconds: 2.5), GoldenBytes.done),
        (.failed(reason: "no"), GoldenBytes.failed),
        (.commit(pauseMilliseconds: 12.25), GoldenBytes.commit),
        (.ack, GoldenBytes.ack),
    ])
    func controlMessagesKeepTheirBytes(message: HandoffControl, golden: [UInt8]) throws {
        #expect(message.encode() == golden)
        #expect(try HandoffControl(decoding: golden) == message)
    }

    @Test func theRecordStreamKeepsItsMessageLayout() throws {
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        var pipeEnds: [Int32] = [-1, -1]
        #expect(pipe(&pipeEnds) == 0)
        defer { close(pipeEnds[0]); close(pipeEnds[1]) }
        let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 1000)
        try writer.add(state: [1, 2, 3], fd: nil)
        try writer.add(state: [9], fd: pipeEnds[1])
        try writer.add(state: [], fd: nil)
        try writer.finish()
        // Raw reads see the channel's header byte too; the fd attached to the first message is discarded.
        #expect(receiveRaw(receiver) == GoldenBytes.recordsMessage)
        #expect(receiveRaw(receiver) == GoldenBytes.endMessage)
    }

    private func receiveRaw(_ channel: HandoffChannel) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(channel.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return count > 0 ? Array(buffer[0..<count]) : []
    }
}
