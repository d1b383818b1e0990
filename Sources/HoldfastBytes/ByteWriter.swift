/// Appends the primitives of Holdfast's compact binary records: unsigned LEB128 varints, zigzag-encoded signed
/// varints, little-endian fixed 64-bit words, length-prefixed bytes and UTF-8 strings, one-byte flags.
///
/// Records written with it have no tags: both sides read the fields in the order written, and a record kind or
/// format version pins the layout. Used by presence snapshots and every handoff record.
public struct ByteWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// A writer that appends to `existing` (moved in: take the result back with ``bytes``).
    public init(appendingTo existing: [UInt8]) {
        bytes = existing
    }

    public mutating func byte(_ value: UInt8) { bytes.append(value) }

    /// One byte: 1 for true, 0 for false.
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// An unsigned LEB128 varint: one byte below 128, at most ten.
    public mutating func unsigned(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A zigzag-encoded varint: small magnitudes of either sign stay short.
    public mutating func signed(_ value: Int64) { unsigned(ZigZag.encode(value)) }

    public mutating func int(_ value: Int) { signed(Int64(value)) }

    /// Eight bytes, little-endian.
    public mutating func fixed64(_ value: UInt64) {
        for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    /// A varint byte count, then the bytes.
    public mutating func data(_ value: some Collection<UInt8>) {
        unsigned(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A varint byte count, then the UTF-8.
    public mutating func string(_ value: String) { data(value.utf8) }

    /// A flag, then the string if there is one.
    public mutating func optionalString(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }

    /// A flag, then the bytes if there are some.
    public mutating func optionalData(_ value: [UInt8]?) {
        bool(value != nil)
        if let value { data(value) }
    }

    /// Raw bytes with no length in front (the caller's layout says where they end).
    public mutating func raw(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }
}

/// Zigzag mapping of signed integers onto unsigned ones (0, -1, 1, -2 … → 0, 1, 2, 3 …).
public enum ZigZag {
    public static func encode(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }

    public static func decode(_ value: UInt64) -> Int64 {
        Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1)
    }
}
