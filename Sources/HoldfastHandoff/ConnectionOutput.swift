public import HoldfastBytes

/// A staged connection whose only change since it was staged is output: the bytes queued for its socket
/// (ciphertext on TLS), the TLS record state that sealed them, and the phase's deadline. The new process applies it
/// to the copy it built from staging (kept by ``ConnectionSnapshot/keptForUpdates``) instead of reading and
/// rebuilding the whole connection, so a connection with queued output costs the pause its bytes, not its session.
///
/// Written (``HandoffFormat/connectionOutputRecord``) only to a new process that accepted
/// ``HandoffFeatures/stagedConnectionOutput``; otherwise such a connection goes whole, as older builds read it.
public struct ConnectionOutput: Sendable, Equatable {
    /// The connection's key (the old process's fd number, as in ``KeyedConnectionRecord``).
    public var key: Int32
    /// The phase's deadline on the shared monotonic clock (0: none).
    public var deadline: Int64
    /// Bytes queued for the socket and not written yet.
    public var outbound: [UInt8]
    /// The TLS record layer (`TLSRecordLayer.exportState()`), nil on plaintext connections.
    public var tls: [UInt8]?

    /// An output record with every field given.
    public init(key: Int32, deadline: Int64, outbound: [UInt8], tls: [UInt8]?) {
        self.key = key
        self.deadline = deadline
        self.outbound = outbound
        self.tls = tls
    }

    /// The output part of `snapshot`, for the connection `key`.
    public init(key: Int32, of snapshot: ConnectionSnapshot) {
        self.init(key: key, deadline: snapshot.deadline, outbound: snapshot.outbound, tls: snapshot.tls)
    }

    /// The record.
    public func encode() -> [UInt8] {
        var out = ByteWriter(capacity: 16 + outbound.count + (tls?.count ?? 0))
        out.byte(HandoffFormat.connectionOutputRecord)
        out.signed(Int64(key))
        out.signed(deadline)
        out.data(outbound)
        out.optionalData(tls)
        return out.bytes
    }

    /// Reads an output record; damaged bytes are an error, never a trap.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.connectionOutputRecord else {
            throw ByteReadError.invalid("not a connection output record")
        }
        guard let key = Int32(exactly: try input.signed()) else { throw ByteReadError.invalid("bad connection key") }
        self.key = key
        deadline = try input.signed()
        outbound = try input.data()
        tls = try input.optionalData()
        try input.expectEnd()
    }

    /// `staged` with this output in place: the connection the whole record would have carried.
    public func applied(to staged: ConnectionSnapshot) -> ConnectionSnapshot {
        var updated = staged
        (updated.deadline, updated.outbound, updated.tls) = (deadline, outbound, tls)
        return updated
    }
}

extension ConnectionSnapshot {
    /// Whether `newer` is this connection with only its output moved (queue, TLS record state, deadline): then the
    /// copy built from this one can take ``ConnectionOutput`` in place. A connection that gained or lost TLS is not.
    public func differsOnlyInOutput(from newer: ConnectionSnapshot) -> Bool {
        (tls == nil) == (newer.tls == nil) && ConnectionOutput(key: 0, of: newer).applied(to: self) == newer
    }
}
