import HoldfastAPI
public import HoldfastBytes
import HoldfastChannels
import HoldfastWebSocket

extension ConnectionSnapshot {
    /// The record (``HandoffFormat/connectionRecord``).
    public func encode() -> [UInt8] {
        var out = ByteWriter(capacity: 128 + inbound.count + plainInbound.count + outbound.count)
        out.byte(HandoffFormat.connectionRecord)
        out.int(loopIndex)
        // Which listener: 0 client, 1 admin, 2 server API (a byte that read as a bool before the API existed).
        out.byte(isAdmin ? 1 : isAPI ? 2 : 0)
        out.bool(overLimit)
        out.byte(phase.rawValue)
        out.signed(deadline)
        out.bool(closeWhenFlushed)
        out.data(inbound)
        out.data(plainInbound)
        out.data(outbound)
        out.optionalData(tls)
        out.byte(application.rawValue)
        out.bool(webSocket != nil)
        if let webSocket { Self.encode(webSocket, into: &out) }
        out.bool(phoenix != nil)
        if let phoenix { Self.encode(phoenix, into: &out) }
        // A trailing section only while a server API publish awaits its answer: other records keep their bytes.
        awaitedPublish?.encode(into: &out)
        return out.bytes
    }

    /// Reads a connection record; damaged bytes are an error, never a trap.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.connectionRecord else {
            throw ByteReadError.invalid("not a connection record")
        }
        loopIndex = try input.int()
        let listener = try input.byte()
        guard listener <= 2 else { throw ByteReadError.invalid("unknown listener of a connection") }
        isAdmin = listener == 1
        isAPI = listener == 2
        overLimit = try input.bool()
        guard let phase = Phase(rawValue: try input.byte()) else {
            throw ByteReadError.invalid("unknown connection phase")
        }
        self.phase = phase
        deadline = try input.signed()
        closeWhenFlushed = try input.bool()
        inbound = try input.data()
        plainInbound = try input.data()
        outbound = try input.data()
        tls = try input.optionalData()
        guard let application = Application(rawValue: try input.byte()) else {
            throw ByteReadError.invalid("unknown application")
        }
        self.application = application
        webSocket = try input.bool() ? try Self.decodeWebSocket(&input) : nil
        phoenix = try input.bool() ? try Self.decodePhoenix(&input) : nil
        awaitedPublish = input.isAtEnd ? nil : try AwaitedPublish(decoding: &input)
        try input.expectEnd()
    }

    private static func encode(_ state: WebSocketConnectionState, into out: inout ByteWriter) {
        out.int(state.limits.maxFrameSize)
        out.int(state.limits.maxMessageSize)
        out.bool(state.deflate != nil)
        if let deflate = state.deflate {
            out.bool(deflate.serverNoContextTakeover)
            out.bool(deflate.clientNoContextTakeover)
            out.byte(deflate.serverMaxWindowBits)
            out.byte(deflate.clientMaxWindowBits)
        }
        out.int(state.minimumSizeToCompress)
        out.int(state.compressionLevel)
        out.int(state.memoryLevel)
        out.bool(state.closeSent)
        out.byte(state.openMessage.map { $0.rawValue + 1 } ?? 0)
        out.byte(state.utf8State)
        out.data(state.partialMessage)
        out.optionalData(state.inflateWindow)
        out.optionalData(state.deflateWindow)
    }

    private static func decodeWebSocket(_ input: inout ByteReader) throws(ByteReadError) -> WebSocketConnectionState {
        let limits = WebSocketLimits(maxFrameSize: try input.int(), maxMessageSize: try input.int())
        var deflate: PerMessageDeflateParameters?
        if try input.bool() {
            deflate = PerMessageDeflateParameters(
                serverNoContextTakeover: try input.bool(), clientNoContextTakeover: try input.bool(),
                serverMaxWindowBits: try input.byte(), clientMaxWindowBits: try input.byte())
        }
        let minimumSize = try input.int()
        let level = try input.int()
        let memoryLevel = try input.int()
        let closeSent = try input.bool()
        let opcodeByte = try input.byte()
        var openMessage: WebSocketOpcode?
        if opcodeByte != 0 {
            guard let opcode = WebSocketOpcode(rawValue: opcodeByte - 1) else {
                throw ByteReadError.invalid("unknown opcode")
            }
            openMessage = opcode
        }
        return WebSocketConnectionState(
            limits: limits, deflate: deflate, minimumSizeToCompress: minimumSize, compressionLevel: level,
            memoryLevel: memoryLevel, closeSent: closeSent, openMessage: openMessage, utf8State: try input.byte(),
            partialMessage: try input.data(), inflateWindow: try input.optionalData(),
            deflateWindow: try input.optionalData())
    }

    private static func encode(_ session: PhoenixSnapshot, into out: inout ByteWriter) {
        out.unsigned(session.connectionID)
        out.string(session.user)
        out.byte(session.version == .v1 ? 1 : 2)
        out.unsigned(UInt64(session.channels.count))
        for channel in session.channels {
            out.string(channel.topic)
            out.optionalString(channel.joinRef)
            out.optionalString(channel.joinMessageRef)
            out.bool(channel.status == .joined)
        }
        out.signed(session.lastReceivedAt)
        out.signed(session.rateWindowStart)
        out.int(session.rateWindowCount)
        out.unsigned(UInt64(session.joins.count))
        for join in session.joins {
            out.string(join.topic)
            out.optionalString(join.joinRef)
        }
    }

    private static func decodePhoenix(_ input: inout ByteReader) throws(ByteReadError) -> PhoenixSnapshot {
        let connectionID = try input.unsigned()
        let user = try input.string()
        let version: PhoenixSerializerVersion
        switch try input.byte() {
        case 1: version = .v1
        case 2: version = .v2
        case let other: throw ByteReadError.invalid("unknown serializer version \(other)")
        }
        var channels: [JoinedChannel] = []
        for _ in 0..<(try input.unsigned()) {
            channels.append(JoinedChannel(
                topic: try input.string(), joinRef: try input.optionalString(),
                joinMessageRef: try input.optionalString(), status: try input.bool() ? .joined : .joining))
        }
        let lastReceivedAt = try input.signed()
        let rateWindowStart = try input.signed()
        let rateWindowCount = try input.int()
        var joins: [PhoenixSnapshot.Join] = []
        for _ in 0..<(try input.unsigned()) {
            joins.append(PhoenixSnapshot.Join(topic: try input.string(), joinRef: try input.optionalString()))
        }
        return PhoenixSnapshot(
            connectionID: connectionID, user: user, version: version, channels: channels,
            lastReceivedAt: lastReceivedAt, rateWindowStart: rateWindowStart, rateWindowCount: rateWindowCount,
            joins: joins)
    }
}
