/// A JSON-shaped value crossing the boundary between the Holdfast host and a handler plugin.
///
/// The host's own JSON type lives in a module plugins do not link, so the interface carries this one: the
/// host converts its payloads member by member (no JSON text round trip). Objects keep their members in
/// order, and integers stay apart from doubles so ids and millisecond timestamps round-trip exactly.
///
/// `@frozen`: plugins switch over it exhaustively; adding a case is an interface change (bump the ABI).
@frozen
public enum HandlerValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([HandlerValue])
    case object([HandlerMember])

    /// The member named `key` of an object (the first, if repeated), or nil.
    @inlinable
    public subscript(key: String) -> HandlerValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// The string, if this is a string.
    @inlinable
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, if this is an integer (or a double with an exact integer value).
    @inlinable
    public var intValue: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.0e15: return Int64(value)
        default: return nil
        }
    }

    /// The members, if this is an object.
    @inlinable
    public var objectMembers: [HandlerMember]? {
        if case .object(let members) = self { return members }
        return nil
    }
}

/// One member of a ``HandlerValue/object(_:)``.
@frozen
public struct HandlerMember: Sendable, Equatable, Hashable {
    public var key: String
    public var value: HandlerValue

    @inlinable
    public init(_ key: String, _ value: HandlerValue) {
        self.key = key
        self.value = value
    }
}
