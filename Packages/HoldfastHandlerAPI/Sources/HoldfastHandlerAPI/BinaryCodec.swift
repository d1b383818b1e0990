/// Appends values to a compact binary buffer: the format handler state is exported in.
///
/// Integers are LEB128 varints (signed ones zigzag-encoded), doubles their 8 IEEE bytes little-endian,
/// strings a varint byte count followed by UTF-8. There are no tags or field names: a plugin writes its
/// own format version first and reads the fields back in the order it wrote them.
@frozen
public struct BinaryWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    @inlinable
    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func write(_ byte: UInt8) {
        bytes.append(byte)
    }

    @inlinable
    public mutating func write(_ value: Bool) {
        bytes.append(value ? 1 : 0)
    }

    /// An unsigned LEB128 varint: 1 byte below 128, at most 10.
    @inlinable
    public mutating func write(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A zigzag-encoded varint: small magnitudes of either sign take few bytes.
    @inlinable
    public mutating func write(_ value: Int64) {
        write(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inlinable
    public mutating func write(_ value: Int) {
        write(Int64(value))
    }

    @inlinable
    public mutating func write(_ value: Double) {
        var bits = value.bitPattern
        for _ in 0..<8 {
            bytes.append(UInt8(truncatingIfNeeded: bits))
            bits >>= 8
        }
    }

    @inlinable
    public mutating func write(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            write(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A value with a one-byte tag per node.
    public mutating func write(_ value: HandlerValue) {
        switch value {
        case .null: write(UInt8(0))
        case .bool(let flag): write(UInt8(flag ? 2 : 1))
        case .int(let number):
            write(UInt8(3))
            write(number)
        case .double(let number):
            write(UInt8(4))
            write(number)
        case .string(let text):
            write(UInt8(5))
            write(text)
        case .array(let elements):
            write(UInt8(6))
            write(UInt64(elements.count))
            for element in elements { write(element) }
        case .object(let members):
            write(UInt8(7))
            write(UInt64(members.count))
            for member in members {
                write(member.key)
                write(member.value)
            }
        }
    }
}

/// Reads back what a ``BinaryWriter`` wrote. Every read checks bounds and throws on truncated or malformed
/// input, so corrupt state makes ``HandlerFactory/makeHandler(state:)`` throw instead of trapping.
@frozen
public struct BinaryReader: Sendable {
    @usableFromInline let bytes: [UInt8]
    /// The offset of the next byte to read (settable to skip or re-read).
    public var offset: Int

    @inlinable
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    /// True when every byte has been read.
    @inlinable
    public var isAtEnd: Bool { offset >= bytes.count }

    /// Throws unless every byte has been read (trailing garbage means the format was misread).
    @inlinable
    public func expectEnd() throws(StateDecodingError) {
        guard isAtEnd else { throw StateDecodingError(offset: offset, reason: "\(bytes.count - offset) trailing bytes") }
    }

    @inlinable
    public mutating func readByte() throws(StateDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw StateDecodingError(offset: offset, reason: "unexpected end of state") }
        let byte = bytes[offset]
        offset += 1
        return byte
    }

    @inlinable
    public mutating func readBool() throws(StateDecodingError) -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        case let other: throw StateDecodingError(offset: offset - 1, reason: "invalid bool byte \(other)")
        }
    }

    @inlinable
    public mutating func readUInt64() throws(StateDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            if shift == 63 && byte > 1 { throw StateDecodingError(offset: offset - 1, reason: "varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }

    @inlinable
    public mutating func readInt64() throws(StateDecodingError) -> Int64 {
        let zigzag = try readUInt64()
        return Int64(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
    }

    @inlinable
    public mutating func readInt() throws(StateDecodingError) -> Int {
        let value = try readInt64()
        guard let result = Int(exactly: value) else { throw StateDecodingError(offset: offset, reason: "integer out of range") }
        return result
    }

    /// A count (of elements, bytes) that must fit in what is left of the input, at `minimumSize` bytes each.
    @inlinable
    public mutating func readCount(minimumSize: Int = 1) throws(StateDecodingError) -> Int {
        let count = try readUInt64()
        guard count <= UInt64(bytes.count - offset) / UInt64(max(minimumSize, 1)) else {
            throw StateDecodingError(offset: offset, reason: "count \(count) exceeds the remaining input")
        }
        return Int(count)
    }

    @inlinable
    public mutating func readDouble() throws(StateDecodingError) -> Double {
        guard bytes.count - offset >= 8 else { throw StateDecodingError(offset: offset, reason: "unexpected end of state") }
        var bits: UInt64 = 0
        for index in 0..<8 { bits |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += 8
        return Double(bitPattern: bits)
    }

    @inlinable
    public mutating func readString() throws(StateDecodingError) -> String {
        let count = try readCount()
        let start = offset
        offset += count
        return String(decoding: bytes[start..<offset], as: UTF8.self)
    }

    /// A value written by ``BinaryWriter/write(_:)-(HandlerValue)``; nesting deeper than `maxDepth` throws.
    public mutating func readHandlerValue(maxDepth: Int = 64) throws(StateDecodingError) -> HandlerValue {
        guard maxDepth > 0 else { throw StateDecodingError(offset: offset, reason: "value nested too deeply") }
        switch try readByte() {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .int(try readInt64())
        case 4: return .double(try readDouble())
        case 5: return .string(try readString())
        case 6:
            let count = try readCount()
            var elements: [HandlerValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try readHandlerValue(maxDepth: maxDepth - 1)) }
            return .array(elements)
        case 7:
            let count = try readCount(minimumSize: 2)
            var members: [HandlerMember] = []
            members.reserveCapacity(count)
            for _ in 0..<count {
                let key = try readString()
                members.append(HandlerMember(key, try readHandlerValue(maxDepth: maxDepth - 1)))
            }
            return .object(members)
        case let tag:
            throw StateDecodingError(offset: offset - 1, reason: "unknown value tag \(tag)")
        }
    }
}

/// Handler state that could not be decoded.
@frozen
public struct StateDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where in the state the problem was found.
    public var offset: Int
    public var reason: String

    @inlinable
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "undecodable handler state at byte \(offset): \(reason)" }
}
