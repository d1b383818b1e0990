/// A Redis Stream entry id, `<milliseconds>-<sequence>`, ordered as Redis orders them.
public struct RedisStreamID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The time part.
    public var milliseconds: UInt64
    /// The sequence within that millisecond.
    public var sequence: UInt64

    /// Creates an id from its parts.
    public init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `1700000000000-3` (a bare `1700000000000` means sequence 0); nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let milliseconds = UInt64(parts[0]) else { return nil }
        let sequence = parts.count == 2 ? UInt64(parts[1]) : 0
        guard let sequence else { return nil }
        self.init(milliseconds: milliseconds, sequence: sequence)
    }

    public var description: String { "\(milliseconds)-\(sequence)" }

    public static func < (left: RedisStreamID, right: RedisStreamID) -> Bool {
        (left.milliseconds, left.sequence) < (right.milliseconds, right.sequence)
    }
}

/// One entry read from a Stream (`XRANGE`): its id and its field-value pairs in order.
public struct RedisStreamEntry: Sendable, Equatable {
    /// The entry id.
    public var id: RedisStreamID
    /// Field names and values, as stored.
    public var fields: [(name: String, value: [UInt8])]

    /// Creates an entry.
    public init(id: RedisStreamID, fields: [(name: String, value: [UInt8])]) {
        self.id = id
        self.fields = fields
    }

    /// The value of the first field called `name`.
    public subscript(name: String) -> [UInt8]? { fields.first { $0.name == name }?.value }

    public static func == (left: RedisStreamEntry, right: RedisStreamEntry) -> Bool {
        left.id == right.id && left.fields.elementsEqual(right.fields) { $0.name == $1.name && $0.value == $1.value }
    }

    /// Reads one `[id, [field, value, ...]]` element of an `XRANGE` reply.
    init?(_ reply: RedisReply) {
        guard case .array(let parts) = reply, parts.count == 2, let idText = parts[0].string,
            let id = RedisStreamID(idText), case .array(let flat) = parts[1], flat.count % 2 == 0
        else { return nil }
        var fields: [(name: String, value: [UInt8])] = []
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let name = flat[index].string, let value = flat[index + 1].bytes else { return nil }
            fields.append((name, value))
        }
        self.init(id: id, fields: fields)
    }
}
