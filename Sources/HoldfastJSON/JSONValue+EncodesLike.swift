extension JSONValue {
    /// Whether `self` and `other` encode to the same bytes, so one may stand for the other without changing a
    /// frame. Stricter than `==`, which takes canonically equivalent strings (`"é"` and `"e\u{301}"`) and `0.0`
    /// and `-0.0` as equal although they encode differently.
    public func encodesLike(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): true
        case (.bool(let left), .bool(let right)): left == right
        case (.integer(let left), .integer(let right)): left == right
        case (.double(let left), .double(let right)): left.bitPattern == right.bitPattern
        case (.string(let left), .string(let right)): left.utf8.elementsEqual(right.utf8)
        case (.array(let left), .array(let right)):
            left.count == right.count && zip(left, right).allSatisfy { $0.encodesLike($1) }
        case (.object(let left), .object(let right)): left.encodesLike(right)
        default: false
        }
    }
}

extension Array where Element == JSONMember {
    /// Whether the object with these members encodes to the same bytes as the one with `other`'s (see
    /// ``JSONValue/encodesLike(_:)``).
    public func encodesLike(_ other: [JSONMember]) -> Bool {
        count == other.count
            && zip(self, other).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value.encodesLike($1.value) }
    }
}
