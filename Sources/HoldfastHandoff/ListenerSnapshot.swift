public import HoldfastBytes

/// A listening socket: which listener it is and which loop served it.
public struct ListenerSnapshot: Sendable, Equatable {
    /// Which of the server's listeners the socket is.
    public enum Kind: UInt8, Sendable {
        /// The plaintext WebSocket listener.
        case plain = 0
        /// The TLS listener.
        case tls
        /// The admin listener.
        case admin
        /// The server API's listener.
        case api
    }

    /// Which listener.
    public var kind: Kind
    /// The index of the loop that served it.
    public var loopIndex: Int

    /// A listener record.
    public init(kind: Kind, loopIndex: Int) {
        self.kind = kind
        self.loopIndex = loopIndex
    }

    /// The record.
    public func encode() -> [UInt8] {
        var out = ByteWriter(capacity: 8)
        out.byte(HandoffFormat.listenerRecord)
        out.byte(kind.rawValue)
        out.int(loopIndex)
        return out.bytes
    }

    /// Reads a listener record.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.listenerRecord else {
            throw ByteReadError.invalid("not a listener record")
        }
        guard let kind = Kind(rawValue: try input.byte()) else { throw ByteReadError.invalid("unknown listener kind") }
        self.kind = kind
        loopIndex = try input.int()
        try input.expectEnd()
    }
}
