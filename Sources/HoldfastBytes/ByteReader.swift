/// Reads what ``ByteWriter`` wrote. Every read is bounds-checked and throws ``ByteReadError`` on damaged input:
/// nothing here traps, and no announced length sizes an allocation beyond the bytes actually left.
public struct ByteReader: Sendable {
    private let bytes: [UInt8]
    /// The offset of the next byte to read.
    public private(set) var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether every byte was read.
    public var isAtEnd: Bool { offset == bytes.count }

    /// How many bytes are left.
    public var remaining: Int { bytes.count - offset }

    /// The bytes not read yet.
    public var rest: ArraySlice<UInt8> { bytes[offset...] }

    public mutating func byte() throws(ByteReadError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(at: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A strict flag: 0 or 1, anything else is damage.
    public mutating func bool() throws(ByteReadError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw .invalidFlag(other, at: offset - 1)
        }
    }

    /// An unsigned LEB128 varint of at most 64 bits.
    public mutating func unsigned() throws(ByteReadError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            // The tenth byte may only carry the 64th bit.
            guard shift < 63 || (shift == 63 && next <= 1) else { throw .varintOverflow(at: start) }
            value |= UInt64(next & 0x7F) << shift
            if next & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A zigzag-encoded varint.
    public mutating func signed() throws(ByteReadError) -> Int64 { ZigZag.decode(try unsigned()) }

    /// A zigzag-encoded varint that must fit an `Int`.
    public mutating func int() throws(ByteReadError) -> Int {
        let start = offset
        guard let value = Int(exactly: try signed()) else { throw .outOfRange(at: start) }
        return value
    }

    /// A varint that counts things still to come, each at least `minimumSize` bytes long: a count larger than
    /// what is left is damage (and must not size an allocation).
    public mutating func count(minimumSize: Int = 1) throws(ByteReadError) -> Int {
        let start = offset
        let value = try unsigned()
        guard value <= UInt64(remaining / max(minimumSize, 1)) else { throw .truncated(at: start) }
        return Int(value)
    }

    /// Eight bytes, little-endian.
    public mutating func fixed64() throws(ByteReadError) -> UInt64 {
        guard remaining >= 8 else { throw .truncated(at: offset) }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += 8
        return value
    }

    /// A varint byte count, then that many bytes.
    public mutating func data() throws(ByteReadError) -> [UInt8] {
        let count = try count()
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A varint byte count, then that much UTF-8 (validated).
    public mutating func string() throws(ByteReadError) -> String {
        let start = offset
        let length = try count()
        let from = offset
        offset += length
        let string: String? = bytes.withUnsafeBufferPointer { all in
            let slice = UnsafeBufferPointer(rebasing: all[from..<(from + length)])
            // Keys, refs and topics are nearly always ASCII, which needs no validation.
            var ascii = true
            for byte in slice where byte >= 0x80 {
                ascii = false
                break
            }
            return ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
        }
        guard let string else { throw .invalidUTF8(at: start) }
        return string
    }

    /// A flag, then a string if it is set.
    public mutating func optionalString() throws(ByteReadError) -> String? {
        try bool() ? try string() : nil
    }

    /// A flag, then bytes if it is set.
    public mutating func optionalData() throws(ByteReadError) -> [UInt8]? {
        try bool() ? try data() : nil
    }

    /// Throws unless every byte was read (trailing bytes mean the layout was misread).
    public func expectEnd() throws(ByteReadError) {
        guard isAtEnd else { throw .trailingBytes(remaining) }
    }
}

/// Why bytes did not read as the primitive asked for.
public enum ByteReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input ends inside a value (or a count announces more than is left).
    case truncated(at: Int)
    /// A varint is longer than 64 bits.
    case varintOverflow(at: Int)
    /// A flag byte is neither 0 nor 1.
    case invalidFlag(UInt8, at: Int)
    /// A string is not valid UTF-8.
    case invalidUTF8(at: Int)
    /// An integer does not fit the type asked for.
    case outOfRange(at: Int)
    /// Bytes remain after the last field.
    case trailingBytes(Int)
    /// The primitives read, but a field's value is not one the record's layout allows.
    case invalid(String)

    public var description: String {
        switch self {
        case .truncated(let offset): "input ends early at byte \(offset)"
        case .varintOverflow(let offset): "varint longer than 64 bits at byte \(offset)"
        case .invalidFlag(let value, let offset): "invalid flag \(value) at byte \(offset)"
        case .invalidUTF8(let offset): "invalid UTF-8 in the string at byte \(offset)"
        case .outOfRange(let offset): "integer out of range at byte \(offset)"
        case .trailingBytes(let count): "\(count) unread bytes at the end"
        case .invalid(let reason): reason
        }
    }
}
