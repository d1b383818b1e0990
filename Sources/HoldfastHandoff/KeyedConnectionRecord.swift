public import HoldfastBytes

/// A connection's snapshot framed with its key (the old process's fd number, unique among its open connections
/// for the whole upgrade, since no connection is accepted meanwhile).
public enum KeyedConnectionRecord {
    /// Frames the encoded `snapshot` as a record of `kind` (``HandoffFormat/stagedConnectionRecord`` or
    /// ``HandoffFormat/finalConnectionRecord``).
    public static func encode(kind: UInt8, key: Int32, snapshot: [UInt8]) -> [UInt8] {
        var out = ByteWriter(capacity: snapshot.count + 8)
        out.byte(kind)
        out.signed(Int64(key))
        var bytes = out.bytes
        bytes += snapshot
        return bytes
    }

    /// The key and the connection of a record written by ``encode(kind:key:snapshot:)``, whatever its kind.
    public static func decode(_ bytes: [UInt8]) throws(ByteReadError) -> (key: Int32, snapshot: ConnectionSnapshot) {
        var input = ByteReader(bytes)
        _ = try input.byte()
        guard let key = Int32(exactly: try input.signed()) else { throw ByteReadError.invalid("bad connection key") }
        return (key, try ConnectionSnapshot(decoding: Array(bytes[input.offset...])))
    }
}
