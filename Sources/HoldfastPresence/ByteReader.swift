/// Reads the snapshot's binary primitives from a byte array, failing with typed errors and never trapping.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Whether every byte was read.
    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws(PresenceSnapshotDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// An unsigned LEB128 integer.
    mutating func varint() throws(PresenceSnapshotDecodingError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            // The tenth byte may only carry the 64th bit.
            guard shift < 63 || (shift == 63 && next <= 1) else { throw .integerOverflow }
            value |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A varint that must fit a count of things still to come: each takes at least one byte, so a count larger
    /// than the bytes left is damage (and must not size an allocation).
    mutating func count() throws(PresenceSnapshotDecodingError) -> Int {
        let value = try varint()
        guard value <= UInt64(bytes.count - offset) else { throw .truncated }
        return Int(value)
    }

    /// Eight bytes, little-endian.
    mutating func fixed64() throws(PresenceSnapshotDecodingError) -> UInt64 {
        guard bytes.count - offset >= 8 else { throw .truncated }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += 8
        return value
    }

    /// A length-prefixed UTF-8 string.
    mutating func string() throws(PresenceSnapshotDecodingError) -> String {
        let length = try count()
        let start = offset
        offset += length
        let string: String? = bytes.withUnsafeBufferPointer { all in
            let slice = UnsafeBufferPointer(rebasing: all[start..<(start + length)])
            // Keys and refs are nearly always ASCII, which needs no validation (and skips a generic path).
            var ascii = true
            for byte in slice where byte >= 0x80 {
                ascii = false
                break
            }
            return ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
        }
        guard let string else { throw .invalidUTF8 }
        return string
    }
}

/// Appends the snapshot's binary primitives.
enum ByteWriter {
    static func varint(_ value: UInt64, into bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    static func fixed64(_ value: UInt64, into bytes: inout [UInt8]) {
        for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    static func string(_ value: String, into bytes: inout [UInt8]) {
        varint(UInt64(value.utf8.count), into: &bytes)
        bytes.append(contentsOf: value.utf8)
    }
}
