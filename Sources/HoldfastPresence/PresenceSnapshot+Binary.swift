import HoldfastBytes
import HoldfastJSON

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
        // Moved in and back out, so appending costs no copy.
        var writer = ByteWriter(appendingTo: bytes)
        bytes = []
        writer.raw(Self.magic)
        writer.byte(Self.formatVersion)
        writer.string(refPrefix)
        writer.unsigned(nextRefNumber)
        writer.unsigned(UInt64(entries.count))
        for entry in entries { Self.encode(entry, into: &writer) }
        writer.unsigned(UInt64(changes.count))
        for change in changes {
            writer.string(change.ref)
            if let before = change.before {
                writer.byte(1)
                Self.encode(before, into: &writer)
            } else {
                writer.byte(0)
            }
        }
        bytes = writer.bytes
    }

    /// Decodes a snapshot written by ``encode(into:)``; `bytes` must hold exactly one.
    /// - Throws: ``PresenceSnapshotDecodingError`` for anything else; damaged input never traps.
    public init(decoding bytes: [UInt8]) throws(PresenceSnapshotDecodingError) {
        do {
            self = try Self.decode(bytes)
        } catch let error as PresenceSnapshotDecodingError {
            throw error
        } catch let error as ByteReadError {
            throw PresenceSnapshotDecodingError(error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    private static func decode(_ bytes: [UInt8]) throws -> PresenceSnapshot {
        var reader = ByteReader(bytes)
        for expected in magic where try reader.byte() != expected { throw PresenceSnapshotDecodingError.notASnapshot }
        let version = try reader.byte()
        guard version == formatVersion else { throw PresenceSnapshotDecodingError.unsupportedVersion(version) }
        let prefix = try reader.string()
        let next = try reader.unsigned()
        let entryCount = try reader.count()
        var entries: [Entry] = []
        entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount { entries.append(try decodeEntry(&reader)) }
        let changeCount = try reader.count()
        var changes: [Change] = []
        changes.reserveCapacity(changeCount)
        for _ in 0..<changeCount {
            let ref = try reader.string()
            let before = try reader.byte() == 0 ? nil : try decodeEntry(&reader)
            changes.append(Change(ref: ref, before: before))
        }
        guard reader.isAtEnd else { throw PresenceSnapshotDecodingError.trailingBytes }
        return PresenceSnapshot(refPrefix: prefix, nextRefNumber: next, entries: entries, changes: changes)
    }

    /// The snapshot's binary form as a new array.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    // MARK: - Entries and values

    private static func encode(_ entry: Entry, into writer: inout ByteWriter) {
        writer.unsigned(entry.owner)
        writer.string(entry.key)
        writer.string(entry.ref)
        if let previous = entry.previousRef {
            writer.byte(1)
            writer.string(previous)
        } else {
            writer.byte(0)
        }
        encode(entry.fields, into: &writer)
    }

    private static func decodeEntry(_ reader: inout ByteReader) throws -> Entry {
        let owner = try reader.unsigned()
        let key = try reader.string()
        let ref = try reader.string()
        let previous = try reader.byte() == 0 ? nil : try reader.string()
        let fields = try decodeMembers(&reader, depth: 1)
        return Entry(owner: owner, key: key, ref: ref, previousRef: previous, fields: fields)
    }

    private static func encode(_ members: [JSONMember], into writer: inout ByteWriter) {
        writer.unsigned(UInt64(members.count))
        for member in members {
            writer.string(member.key)
            encode(member.value, into: &writer)
        }
    }

    private static func decodeMembers(
        _ reader: inout ByteReader, depth: Int
    ) throws -> [JSONMember] {
        let count = try reader.count()
        var members: [JSONMember] = []
        members.reserveCapacity(count)
        for _ in 0..<count {
            let name = try reader.string()
            members.append(JSONMember(name, try decodeValue(&reader, depth: depth)))
        }
        return members
    }

    private static func encode(_ value: JSONValue, into writer: inout ByteWriter) {
        switch value {
        case .null:
            writer.byte(Tag.null.rawValue)
        case .bool(let flag):
            writer.byte(flag ? Tag.true.rawValue : Tag.false.rawValue)
        case .integer(let number):
            writer.byte(Tag.integer.rawValue)
            writer.signed(number)
        case .double(let number):
            writer.byte(Tag.double.rawValue)
            writer.fixed64(number.bitPattern)
        case .string(let text):
            writer.byte(Tag.string.rawValue)
            writer.string(text)
        case .array(let items):
            writer.byte(Tag.array.rawValue)
            writer.unsigned(UInt64(items.count))
            for item in items { encode(item, into: &writer) }
        case .object(let members):
            writer.byte(Tag.object.rawValue)
            encode(members, into: &writer)
        }
    }

    private static func decodeValue(
        _ reader: inout ByteReader, depth: Int
    ) throws -> JSONValue {
        let raw = try reader.byte()
        guard let tag = Tag(rawValue: raw) else { throw PresenceSnapshotDecodingError.invalidTag(raw) }
        switch tag {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .integer:
            return .integer(try reader.signed())
        case .double: return .double(Double(bitPattern: try reader.fixed64()))
        case .string: return .string(try reader.string())
        case .array:
            guard depth < maximumNesting else { throw PresenceSnapshotDecodingError.nestingTooDeep }
            let count = try reader.count()
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try decodeValue(&reader, depth: depth + 1)) }
            return .array(items)
        case .object:
            guard depth < maximumNesting else { throw PresenceSnapshotDecodingError.nestingTooDeep }
            return .object(try decodeMembers(&reader, depth: depth + 1))
        }
    }
}
