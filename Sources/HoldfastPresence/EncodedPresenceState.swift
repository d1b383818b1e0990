public import HoldfastBytes

/// A `presence_state` payload as the pieces it is kept in: `{` + the chunks joined by `,` + `}`.
///
/// Each chunk is a run of the payload's members (`"key":{"metas":[...]}` joined by commas) that stays the same
/// instance from one presence change to the next until one of its metas changes, so whatever is derived from a
/// chunk (its compression) is made once for many changes (``PresenceState/encodedState()``).
public struct EncodedPresenceState: Sendable, Equatable {
    /// The non-empty chunks in tracking order.
    public let chunks: [SharedBytes]

    /// Wraps `chunks` (none of them empty).
    public init(chunks: [SharedBytes]) { self.chunks = chunks }

    /// The whole payload as one JSON object.
    public var bytes: [UInt8] {
        var output: [UInt8] = [UInt8(ascii: "{")]
        output.reserveCapacity(chunks.reduce(2) { $0 + $1.count + 1 })
        for (index, chunk) in chunks.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            output.append(contentsOf: chunk.bytes)
        }
        output.append(UInt8(ascii: "}"))
        return output
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.bytes == rhs.bytes }
}
