import HoldfastChannels

// Layout, all integers unsigned LEB128 unless noted, strings as byte length + UTF-8:
//   "HFPS", version (1 byte), refPrefix, nextRefNumber, entry count, entries, change count, changes
//   entry:  owner, key, ref, previousRef (0 | 1 + string), member count, (name, value) per member
//   change: ref, before (0 | 1 + entry)
//   value:  tag byte, then: null/false/true nothing; integer zigzag varint; double 8 bytes little-endian;
//           string; array count + values; object count + (name, value)

extension PresenceSnapshot {
    /// The format version ``encode(into:)`` writes.
    public static let formatVersion: UInt8 = 1
    /// How deep JSON values may nest in a decoded snapshot.
    public static let maximumNesting = 64

    private static let magic: [UInt8] = Array("HFPS".utf8)

    private enum Tag: UInt8 {
        case null = 0
        case `false`, `true`, integer, double, string, array, object
    }

    /// Appends the snapshot in its compact binary form (not JSON). O(size).
    public func encode(into bytes: inout [UInt8]) {
        // A typical entry takes 40-60 bytes; growing once beats doubling a few times.
        bytes.reserveCapacity(bytes.count + 64 + 48 * entries.count + 12 * changes.count)
        bytes.append(contentsOf: Self.magic)
        bytes.append(Self.formatVersion)
        ByteWriter.string(refPrefix, into: &bytes)
        ByteWriter.varint(nextRefNumber, into: &bytes)
        ByteWriter.varint(UInt64(entries.count), into: &bytes)
        for entry in entries { Self.encode(entry, into: &bytes) }
        ByteWriter.varint(UInt64(changes.count), into: &bytes)
        for change in changes {
            ByteWriter.string(change.ref, into: &bytes)
            if let before = change.before {
                bytes.append(1)
                Self.encode(before, into: &bytes)
            } else {
                bytes.append(0)
            }
        }
    }

    /// Decodes a snapshot written by ``encode(into:)``; `bytes` must hold exactly one.
    /// - Throws: ``PresenceSnapshotDecodingError`` for anything else; damaged input never traps.
    public init(decoding bytes: [UInt8]) throws(PresenceSnapshotDecodingError) {
        var reader = ByteReader(bytes)
        for expected in Self.magic where try reader.byte() != expected { throw .notASnapshot }
        let version = try reader.byte()
        guard version == Self.formatVersion else { throw .unsupportedVersion(version) }
        let prefix = try reader.string()
        let next = try reader.varint()
        let entryCount = try reader.count()
        var entries: [Entry] = []
        entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount { entries.append(try Self.decodeEntry(&reader)) }
        let changeCount = try reader.count()
        var changes: [Change] = []
        changes.reserveCapacity(changeCount)
        for _ in 0..<changeCount {
            let ref = try reader.string()
            let before = try reader.byte() == 0 ? nil : try Self.decodeEntry(&reader)
            changes.append(Change(ref: ref, before: before))
        }
        guard reader.isAtEnd else { throw .trailingBytes }
        self.init(refPrefix: prefix, nextRefNumber: next, entries: entries, changes: changes)
    }

    /// The snapshot's binary form as a new array.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    // MARK: - Entries and values

    private static func encode(_ entry: Entry, into bytes: inout [UInt8]) {
        ByteWriter.varint(entry.owner, into: &bytes)
        ByteWriter.string(entry.key, into: &bytes)
        ByteWriter.string(entry.ref, into: &bytes)
        if let previous = entry.previousRef {
            bytes.append(1)
            ByteWriter.string(previous, into: &bytes)
        } else {
            bytes.append(0)
        }
        encode(entry.fields, into: &bytes)
    }

    private static func decodeEntry(_ reader: inout ByteReader) throws(PresenceSnapshotDecodingError) -> Entry {
        let owner = try reader.varint()
        let key = try reader.string()
        let ref = try reader.string()
        let previous = try reader.byte() == 0 ? nil : try reader.string()
        let fields = try decodeMembers(&reader, depth: 1)
        return Entry(owner: owner, key: key, ref: ref, previousRef: previous, fields: fields)
    }

    private static func encode(_ members: [JSONMember], into bytes: inout [UInt8]) {
        ByteWriter.varint(UInt64(members.count), into: &bytes)
        for member in members {
            ByteWriter.string(member.key, into: &bytes)
            encode(member.value, into: &bytes)
        }
    }

    private static func decodeMembers(
        _ reader: inout ByteReader, depth: Int
    ) throws(PresenceSnapshotDecodingError) -> [JSONMember] {
        let count = try reader.count()
        var members: [JSONMember] = []
        members.reserveCapacity(count)
        for _ in 0..<count {
            let name = try reader.string()
            members.append(JSONMember(name, try decodeValue(&reader, depth: depth)))
        }
        return members
    }

    private static func encode(_ value: JSONValue, into bytes: inout [UInt8]) {
        switch value {
        case .null:
            bytes.append(Tag.null.rawValue)
        case .bool(let flag):
            bytes.append(flag ? Tag.true.rawValue : Tag.false.rawValue)
        case .integer(let number):
            bytes.append(Tag.integer.rawValue)
            // Zigzag keeps small negative numbers short.
            ByteWriter.varint(UInt64(bitPattern: (number << 1) ^ (number >> 63)), into: &bytes)
        case .double(let number):
            bytes.append(Tag.double.rawValue)
            ByteWriter.fixed64(number.bitPattern, into: &bytes)
        case .string(let text):
            bytes.append(Tag.string.rawValue)
            ByteWriter.string(text, into: &bytes)
        case .array(let items):
            bytes.append(Tag.array.rawValue)
            ByteWriter.varint(UInt64(items.count), into: &bytes)
            for item in items { encode(item, into: &bytes) }
        case .object(let members):
            bytes.append(Tag.object.rawValue)
            encode(members, into: &bytes)
        }
    }

    private static func decodeValue(
        _ reader: inout ByteReader, depth: Int
    ) throws(PresenceSnapshotDecodingError) -> JSONValue {
        let raw = try reader.byte()
        guard let tag = Tag(rawValue: raw) else { throw .invalidTag(raw) }
        switch tag {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .integer:
            let zigzag = try reader.varint()
            return .integer(Int64(bitPattern: zigzag >> 1) ^ -Int64(bitPattern: zigzag & 1))
        case .double: return .double(Double(bitPattern: try reader.fixed64()))
        case .string: return .string(try reader.string())
        case .array:
            guard depth < maximumNesting else { throw .nestingTooDeep }
            let count = try reader.count()
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try decodeValue(&reader, depth: depth + 1)) }
            return .array(items)
        case .object:
            guard depth < maximumNesting else { throw .nestingTooDeep }
            return .object(try decodeMembers(&reader, depth: depth + 1))
        }
    }
}
