public import HoldfastBytes
public import HoldfastChannels
public import HoldfastWebSocket

/// A staged connection whose change since it was staged is no more than reading and the session's clocks: its
/// output (as in ``ConnectionOutput``), the input received and not yet processed (ciphertext and, on TLS, decrypted
/// bytes), the WebSocket's partly received message, and the Phoenix session's heartbeat time and rate window. A
/// heartbeat or a chat message read moves these and nothing else of the session; the new process applies them to
/// the copy it built from staging, keeping its session and room joins, instead of decoding and rebuilding the whole
/// connection. Whether a connection qualifies is decided by comparing it whole with its staged copy
/// (``ConnectionSnapshot/differsOnlyInProgress(from:)``), never assumed.
///
/// Written (``HandoffFormat/connectionProgressRecord``) only to a new process that accepted
/// ``HandoffFeatures/stagedConnectionProgress``; otherwise such a connection goes whole, as older builds read it.
public struct ConnectionProgress: Sendable, Equatable {
    /// The output part: key, deadline, queued bytes, TLS record state.
    public var output: ConnectionOutput
    /// Received bytes not processed yet (ciphertext on TLS).
    public var inbound: [UInt8]
    /// TLS: decrypted bytes not processed yet.
    public var plainInbound: [UInt8]
    /// The opcode of a partly received (uncompressed) message, nil when none.
    public var openMessage: WebSocketOpcode?
    /// The UTF-8 validator state of that message.
    public var utf8State: UInt8
    /// The bytes of that message received so far.
    public var partialMessage: [UInt8]
    /// When the last message arrived (monotonic milliseconds), for the heartbeat timeout.
    public var lastReceivedAt: Int64
    /// The rate-limit window's start.
    public var rateWindowStart: Int64
    /// Messages in the rate-limit window.
    public var rateWindowCount: Int

    /// A record with every field given.
    public init(
        output: ConnectionOutput, inbound: [UInt8], plainInbound: [UInt8], openMessage: WebSocketOpcode?,
        utf8State: UInt8, partialMessage: [UInt8], lastReceivedAt: Int64, rateWindowStart: Int64, rateWindowCount: Int
    ) {
        (self.output, self.inbound, self.plainInbound) = (output, inbound, plainInbound)
        (self.openMessage, self.utf8State, self.partialMessage) = (openMessage, utf8State, partialMessage)
        (self.lastReceivedAt, self.rateWindowStart, self.rateWindowCount) =
            (lastReceivedAt, rateWindowStart, rateWindowCount)
    }

    /// The progress part of `snapshot`, for the connection `key` (zeros for a part the connection lacks).
    public init(key: Int32, of snapshot: ConnectionSnapshot) {
        self.init(
            output: ConnectionOutput(key: key, of: snapshot), inbound: snapshot.inbound,
            plainInbound: snapshot.plainInbound, openMessage: snapshot.webSocket?.openMessage,
            utf8State: snapshot.webSocket?.utf8State ?? 0, partialMessage: snapshot.webSocket?.partialMessage ?? [],
            lastReceivedAt: snapshot.phoenix?.lastReceivedAt ?? 0,
            rateWindowStart: snapshot.phoenix?.rateWindowStart ?? 0,
            rateWindowCount: snapshot.phoenix?.rateWindowCount ?? 0)
    }

    /// The connection's key.
    public var key: Int32 { output.key }

    /// The record.
    public func encode() -> [UInt8] {
        var out = ByteWriter(
            capacity: 40 + output.outbound.count + (output.tls?.count ?? 0) + inbound.count + plainInbound.count
                + partialMessage.count)
        out.byte(HandoffFormat.connectionProgressRecord)
        out.signed(Int64(output.key))
        out.signed(output.deadline)
        out.data(output.outbound)
        out.optionalData(output.tls)
        out.data(inbound)
        out.data(plainInbound)
        out.byte(openMessage.map { $0.rawValue + 1 } ?? 0)
        out.byte(utf8State)
        out.data(partialMessage)
        out.signed(lastReceivedAt)
        out.signed(rateWindowStart)
        out.int(rateWindowCount)
        return out.bytes
    }

    /// Reads a progress record; damaged bytes are an error, never a trap.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.connectionProgressRecord else {
            throw ByteReadError.invalid("not a connection progress record")
        }
        guard let key = Int32(exactly: try input.signed()) else { throw ByteReadError.invalid("bad connection key") }
        output = ConnectionOutput(
            key: key, deadline: try input.signed(), outbound: try input.data(), tls: try input.optionalData())
        inbound = try input.data()
        plainInbound = try input.data()
        let opcodeByte = try input.byte()
        if opcodeByte == 0 {
            openMessage = nil
        } else {
            guard let opcode = WebSocketOpcode(rawValue: opcodeByte - 1) else {
                throw ByteReadError.invalid("unknown opcode")
            }
            openMessage = opcode
        }
        utf8State = try input.byte()
        partialMessage = try input.data()
        lastReceivedAt = try input.signed()
        rateWindowStart = try input.signed()
        rateWindowCount = try input.int()
        try input.expectEnd()
    }

    /// `staged` with this progress in place: the connection the whole record would have carried.
    public func applied(to staged: ConnectionSnapshot) -> ConnectionSnapshot {
        var updated = output.applied(to: staged)
        (updated.inbound, updated.plainInbound) = (inbound, plainInbound)
        if var webSocket = updated.webSocket {
            (webSocket.openMessage, webSocket.utf8State, webSocket.partialMessage) =
                (openMessage, utf8State, partialMessage)
            updated.webSocket = webSocket
        }
        if var session = updated.phoenix {
            (session.lastReceivedAt, session.rateWindowStart, session.rateWindowCount) =
                (lastReceivedAt, rateWindowStart, rateWindowCount)
            updated.phoenix = session
        }
        return updated
    }
}

extension ConnectionSnapshot {
    /// Whether `newer` is this connection with only its output and its progress moved (see ``ConnectionProgress``):
    /// then the copy built from this one can take that progress in place. Only an open WebSocket qualifies, on both
    /// sides, with TLS on both or neither, without zlib windows (its copy is not kept) and awaiting no publish.
    public func differsOnlyInProgress(from newer: ConnectionSnapshot) -> Bool {
        phase == .webSocket && newer.phase == .webSocket && (tls == nil) == (newer.tls == nil)
            && webSocket != nil && newer.webSocket != nil && keptForUpdates != nil && newer.awaitedPublish == nil
            && ConnectionProgress(key: 0, of: newer).applied(to: self) == newer
    }
}

extension ConnectionProgress {
    /// Whether this progress can be applied to the copy staged as `staged`: what
    /// ``ConnectionSnapshot/differsOnlyInProgress(from:)`` asks of `staged` and of `applied(to: staged)`, without
    /// comparing the two whole (they differ in this progress alone by construction, and the old process compared
    /// the connection whole with its staged copy before it sent the record). The new process checks each record so.
    public func fits(_ staged: ConnectionSnapshot) -> Bool {
        staged.phase == .webSocket && (staged.tls == nil) == (output.tls == nil) && staged.webSocket != nil
            && staged.keptForUpdates != nil && staged.awaitedPublish == nil
    }
}

extension ChannelSocketState {
    /// Takes the heartbeat time and rate window of `session` (a handed-over session's, see ``ConnectionProgress``).
    public mutating func takeClocks(of session: PhoenixSnapshot) {
        (lastReceivedAt, rateWindowStart, rateWindowCount) =
            (session.lastReceivedAt, session.rateWindowStart, session.rateWindowCount)
    }
}
