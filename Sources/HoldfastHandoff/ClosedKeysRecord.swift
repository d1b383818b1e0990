public import HoldfastBytes

/// The keys of the staged connections the old process closed before the pause.
public enum ClosedKeysRecord {
    /// The record for `keys`, in the order given.
    public static func encode(_ keys: [Int32]) -> [UInt8] {
        var out = ByteWriter(capacity: 8 + keys.count * 3)
        out.byte(HandoffFormat.closedKeysRecord)
        out.unsigned(UInt64(keys.count))
        for key in keys { out.signed(Int64(key)) }
        return out.bytes
    }

    /// The keys of a record written by ``encode(_:)``.
    public static func decode(_ bytes: [UInt8]) throws(ByteReadError) -> Set<Int32> {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.closedKeysRecord else { throw ByteReadError.invalid("not a key list") }
        var keys = Set<Int32>()
        for _ in 0..<(try input.unsigned()) {
            guard let key = Int32(exactly: try input.signed()) else {
                throw ByteReadError.invalid("bad connection key")
            }
            keys.insert(key)
        }
        try input.expectEnd()
        return keys
    }
}
