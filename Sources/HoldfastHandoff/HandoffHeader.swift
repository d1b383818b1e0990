public import HoldfastBytes

/// What the whole process hands over besides sockets and rooms: the final stream's first record.
public struct HandoffHeader: Sendable, Equatable {
    /// The old process, for the log and the upgrade record.
    public var pid: Int32
    /// The old process's binary version, for the log and the upgrade record.
    public var binaryVersion: String
    /// The next Phoenix connection id: ids stay unique across the two processes (presence owners, members).
    public var nextConnectionID: UInt64
    /// The handler plugins in the old process's rollback chain, oldest first; the last one is current.
    public var handlerChain: [String]
    /// The current handler's version (the new process migrates its state if its code differs).
    public var handlerVersion: String
    /// The current handler's exported state.
    public var handlerState: [UInt8]

    /// A header with every field given.
    public init(
        pid: Int32, binaryVersion: String, nextConnectionID: UInt64, handlerChain: [String], handlerVersion: String,
        handlerState: [UInt8]
    ) {
        self.pid = pid
        self.binaryVersion = binaryVersion
        self.nextConnectionID = nextConnectionID
        self.handlerChain = handlerChain
        self.handlerVersion = handlerVersion
        self.handlerState = handlerState
    }

    /// The record, ``HandoffFormat/version`` included.
    public func encode() -> [UInt8] {
        var out = ByteWriter(capacity: 64 + handlerState.count)
        out.byte(HandoffFormat.headerRecord)
        out.unsigned(HandoffFormat.version)
        out.signed(Int64(pid))
        out.string(binaryVersion)
        out.unsigned(nextConnectionID)
        out.unsigned(UInt64(handlerChain.count))
        for path in handlerChain { out.string(path) }
        out.string(handlerVersion)
        out.data(handlerState)
        return out.bytes
    }

    /// Reads a header; refuses another format version, so a binary never misreads a stream it does not know.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.headerRecord else {
            throw ByteReadError.invalid("the stream does not start with a header")
        }
        let version = try input.unsigned()
        guard HandoffFormat.readable.contains(version) else {
            throw ByteReadError.invalid("handoff format \(version), this binary reads \(HandoffFormat.readable)")
        }
        guard let pid = Int32(exactly: try input.signed()) else { throw ByteReadError.invalid("bad pid") }
        self.pid = pid
        binaryVersion = try input.string()
        nextConnectionID = try input.unsigned()
        var chain: [String] = []
        for _ in 0..<(try input.unsigned()) { chain.append(try input.string()) }
        handlerChain = chain
        handlerVersion = try input.string()
        handlerState = try input.data()
        try input.expectEnd()
    }
}
