import HoldfastBytes
import HoldfastChannels
import HoldfastHandoff
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms
import HoldfastWebSocket
import Testing

/// The records a binary upgrade sends: every field survives the round trip, and damaged bytes are refused with
/// an error (the new process then reports FAILED and the old one rolls back), never a trap.
@Suite struct HandoffRecordTests {
    static let connection = ConnectionSnapshot(
        loopIndex: 1, isAdmin: false, overLimit: false, phase: .webSocket, deadline: 123_456_789,
        closeWhenFlushed: false, inbound: [0x81, 0x85, 1, 2], plainInbound: [9, 8, 7],
        outbound: Array(repeating: 0x41, count: 300),
        tls: Array(repeating: 7, count: 90), application: .phoenix,
        webSocket: WebSocketConnectionState(
            limits: WebSocketLimits(maxFrameSize: 1000, maxMessageSize: 2000),
            deflate: PerMessageDeflateParameters(
                serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 12,
                clientMaxWindowBits: 15),
            minimumSizeToCompress: 64, compressionLevel: 6, memoryLevel: 8, closeSent: false, openMessage: .text,
            utf8State: 3, partialMessage: Array("half".utf8), inflateWindow: Array(repeating: 1, count: 32_768),
            deflateWindow: nil),
        phoenix: PhoenixSnapshot(
            connectionID: 42, user: "alice", version: .v2,
            channels: [
                JoinedChannel(topic: "room:a", joinRef: "3", joinMessageRef: "3", status: .joined),
                JoinedChannel(topic: "room:b", joinRef: nil, joinMessageRef: "9", status: .joining),
            ],
            lastReceivedAt: 99, rateWindowStart: -5, rateWindowCount: 17,
            joins: [PhoenixSnapshot.Join(topic: "room:a", joinRef: "3")]))

    @Test func aConnectionRoundTrips() throws {
        let decoded = try ConnectionSnapshot(decoding: Self.connection.encode())
        #expect(decoded == Self.connection)
        var plain = Self.connection
        plain.tls = nil
        plain.webSocket = nil
        plain.phoenix = nil
        plain.phase = .lingering
        #expect(try ConnectionSnapshot(decoding: plain.encode()) == plain)
    }

    @Test func aRoomRoundTripsWithItsPresence() throws {
        let presence = PresenceSnapshot(
            refPrefix: "abc", nextRefNumber: 5,
            entries: [PresenceSnapshot.Entry(owner: 42, key: "alice", ref: "abc.3", previousRef: "abc.1",
                fields: [JSONMember("device", .string("phone"))])],
            changes: [PresenceSnapshot.Change(ref: "abc.3", before: nil)])
        let pending = [PendingMessage(
            message: ChatMessage(id: 77, user: "alice", body: "hi", timestamp: 5, clientID: "c1"),
            senderConnectionID: 42, ref: "9")]
        let room = RoomSnapshot(topic: "room:a", lastID: 77, presence: presence, awaitingState: [42], pending: pending)
        #expect(try RoomSnapshot(decoding: room.encode()) == room)
        let unchanged = RoomSnapshot(topic: "room:a", lastID: 78, presence: nil, awaitingState: [])
        #expect(try RoomSnapshot(decoding: unchanged.encode()) == unchanged)
        let staged = StagedRoom(topic: "room:a", presenceGeneration: 9, presence: presence)
        #expect(try StagedRoom(decoding: staged.encode()) == staged)
    }

    @Test func theHeaderAndControlMessagesRoundTrip() throws {
        let header = HandoffHeader(
            pid: 1234, binaryVersion: "0.1.0+dev", nextConnectionID: 99, handlerChain: ["/a.so", "/b.so"],
            handlerVersion: "2.0.0", handlerState: [1, 2, 3])
        #expect(try HandoffHeader(decoding: header.encode()) == header)
        let listener = ListenerSnapshot(kind: .tls, loopIndex: 1)
        #expect(try ListenerSnapshot(decoding: listener.encode()) == listener)
        for message in [HandoffControl.ready(pid: 7, version: "v"),
                        .done(connections: 3, rooms: 1, rebuildMilliseconds: 2.5),
                        .failed(reason: "no"), .commit(pauseMilliseconds: 12.25), .ack] {
            #expect(try HandoffControl(decoding: message.encode()) == message)
        }
    }

    @Test func keyedConnectionsAndKeyListsRoundTrip() throws {
        let record = KeyedConnectionRecord.encode(
            kind: HandoffFormat.stagedConnectionRecord, key: 19_999, snapshot: Self.connection.encode())
        let decoded = try KeyedConnectionRecord.decode(record)
        #expect(decoded.key == 19_999 && decoded.snapshot == Self.connection)
        let keys: Set<Int32> = [3, 17, 19_999]
        #expect(try ClosedKeysRecord.decode(ClosedKeysRecord.encode(Array(keys))) == keys)
        #expect(throws: ByteReadError.self) {
            try ClosedKeysRecord.decode(Array(ClosedKeysRecord.encode([1, 2]).dropLast()))
        }
    }

    @Test func anotherFormatVersionIsRefused() {
        var bytes = HandoffHeader(
            pid: 1, binaryVersion: "x", nextConnectionID: 0, handlerChain: [], handlerVersion: "", handlerState: []
        ).encode()
        bytes[1] = 99
        #expect(throws: ByteReadError.self) { try HandoffHeader(decoding: bytes) }
    }

    @Test func everyTruncationAndCorruptionIsAnErrorNotATrap() {
        let bytes = Self.connection.encode()
        for length in stride(from: 0, to: bytes.count, by: 97) {
            #expect(throws: ByteReadError.self) { try ConnectionSnapshot(decoding: Array(bytes[0..<length])) }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var damaged = bytes
            for _ in 0..<3 {
                let index = Int.random(in: 0..<damaged.count, using: &generator)
                damaged[index] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? ConnectionSnapshot(decoding: damaged)
        }
        #expect(throws: ByteReadError.self) { try ConnectionSnapshot(decoding: bytes + [0]) }
    }

    /// A connection record whose WebSocket state names a window of 76 bits (the golden connection with four bytes
    /// changed; Fuzz/Corpus/handoff/window-bits-zlib-refuses). It decodes, and restoring it used to free zlib's
    /// refused stream twice; now the restored connection has no inflater and fails compressed input with 1011.
    @Test func restoresAConnectionWhoseWindowBitsZlibRefuses() throws {
        let bytes: [UInt8] = [
            0x43, 0x02, 0x00, 0x01, 0x01, 0xAA, 0xB4, 0xDE, 0x75, 0x00, 0x04, 0x81, 0x85, 0x01, 0x02, 0x03,
            0x09, 0x08, 0x07, 0x02, 0x41, 0x42, 0x01, 0x03, 0x07, 0x07, 0x07, 0x01, 0x01, 0xD0, 0x0F, 0xA0,
            0x1F, 0x01, 0x01, 0x00, 0x0C, 0x4C, 0x02, 0xD8, 0x04, 0x10, 0x00, 0x02, 0x03, 0x04, 0x68, 0x61,
            0x6C, 0x66, 0x01, 0x04, 0x01, 0x02, 0x03, 0x04, 0x00, 0x01, 0x2A, 0x05, 0x61, 0x6C, 0x69, 0x63,
            0x65, 0x02, 0x02, 0x06, 0x72, 0x6F, 0x6F, 0x6D, 0x3A, 0x61, 0x01, 0x01, 0x33, 0x01, 0x01, 0x33,
            0x01, 0x06, 0x72, 0x6F, 0x6F, 0x6D, 0x3A, 0x62, 0x00, 0x01, 0x01, 0x39, 0x00, 0xC6, 0x01, 0x09,
            0x22, 0x01, 0x06, 0x72, 0x6F, 0x6F, 0x6D, 0x3A, 0x61, 0x01, 0x01, 0x33,
        ]
        let snapshot = try ConnectionSnapshot(decoding: bytes)
        let state = try #require(snapshot.webSocket)
        #expect(state.deflate?.clientMaxWindowBits == 76)
        // The import itself used to crash.
        #expect(WebSocketConnection(importing: state).exportState()?.deflate?.clientMaxWindowBits == 76)
        // Without its open message, the restored connection refuses compressed input with a typed error.
        var idle = state
        idle.openMessage = nil
        idle.partialMessage = []
        var connection = WebSocketConnection(importing: idle)
        // A compressed text frame ("hello" deflated), masked with a zero key.
        var input: [UInt8] = [0xC1, 0x87, 0, 0, 0, 0, 0xCA, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
        var output: [UInt8] = []
        let (event, _) = input.withUnsafeMutableBytes { connection.nextEvent(input: $0, output: &output) }
        guard case .closed(let code, _, _, let error) = event else {
            Issue.record("expected a close, got \(event)")
            return
        }
        #expect(code == .internalError)
        #expect(error == .compressionUnavailable)
    }
}
