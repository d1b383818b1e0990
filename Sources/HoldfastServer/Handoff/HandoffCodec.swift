/// Why handed-over state could not be read. The new process reports it to the old one, which then rolls back.
struct HandoffStateError: Error, Sendable, CustomStringConvertible {
    let reason: String
    var description: String { "unreadable handoff state: \(reason)" }
}

/// Appends the fields of a handoff record: varints (signed ones zigzag-encoded), length-prefixed bytes and
/// strings, one-byte booleans and presence flags. Fields have no tags: both sides read them in the order
/// written, and the record kind plus ``HandoffFormat/version`` pin the layout.
struct HandoffEncoder {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func unsigned(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func signed(_ value: Int64) {
        unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func int(_ value: Int) { signed(Int64(value)) }

    mutating func data(_ value: some Collection<UInt8>) {
        unsigned(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) { data(value.utf8) }

    mutating func optionalString(_ value: String?) {
        bool(value != nil)
        if let value { string(value) }
    }

    mutating func optionalData(_ value: [UInt8]?) {
        bool(value != nil)
        if let value { data(value) }
    }
}

/// Reads what ``HandoffEncoder`` wrote; every read is bounds-checked and throws on damaged input.
struct HandoffDecoder {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() throws(HandoffStateError) -> UInt8 {
        guard offset < bytes.count else { throw HandoffStateError(reason: "record ends early at byte \(offset)") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bool() throws(HandoffStateError) -> Bool {
        switch try byte() {
        case 0: return false
        case 1: return true
        case let other: throw HandoffStateError(reason: "invalid flag \(other) at byte \(offset - 1)")
        }
    }

    mutating func unsigned() throws(HandoffStateError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64 else { throw HandoffStateError(reason: "varint too long at byte \(offset)") }
            result |= UInt64(next & 0x7f) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func signed() throws(HandoffStateError) -> Int64 {
        let raw = try unsigned()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func int() throws(HandoffStateError) -> Int {
        let value = try signed()
        guard let result = Int(exactly: value) else { throw HandoffStateError(reason: "integer out of range") }
        return result
    }

    mutating func data() throws(HandoffStateError) -> [UInt8] {
        let count = try unsigned()
        guard count <= UInt64(bytes.count - offset) else {
            throw HandoffStateError(reason: "\(count) bytes announced, \(bytes.count - offset) left")
        }
        defer { offset += Int(count) }
        return Array(bytes[offset..<offset + Int(count)])
    }

    mutating func string() throws(HandoffStateError) -> String {
        String(decoding: try data(), as: UTF8.self)
    }

    mutating func optionalString() throws(HandoffStateError) -> String? {
        try bool() ? try string() : nil
    }

    mutating func optionalData() throws(HandoffStateError) -> [UInt8]? {
        try bool() ? try data() : nil
    }

    func expectEnd() throws(HandoffStateError) {
        guard isAtEnd else { throw HandoffStateError(reason: "\(bytes.count - offset) unread bytes at the end of a record") }
    }
}
