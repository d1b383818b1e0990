/// Hands back the value kept from the previous call in place of a new one that encodes like it, so that values
/// repeated one after another share one allocation (see ``share(_:)``).
///
/// Why it exists: a decoded value kept past its frame holds a heap block of its own. A join payload waits in its
/// room's mailbox while the loop goes on reading the other joiners' frames, and each join also allocates the member
/// the room keeps; in a burst the two alternate in the heap, and once the room has run, every payload's block is
/// freed between two members' blocks: one small hole per joiner that nothing of the same size fills again and no
/// trim gives back. With the kept value standing in, the decoded one is freed as soon as its frame is handled, and the
/// next frame's decode reuses its block, so the members are allocated next to each other.
public struct RepeatedJSONSharing: Sendable {
    private var kept: JSONValue = .null

    /// Creates a sharing that keeps nothing yet.
    public init() {}

    /// `value`, or the kept value if it encodes like `value` (``JSONValue/encodesLike(_:)``: the same bytes on the
    /// wire). A non-empty object or array that differs is kept in its place; anything else (scalars, empty
    /// containers, which hold no heap block of their own) is returned as it is and kept nothing.
    public mutating func share(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members) where !members.isEmpty: break
        case .array(let elements) where !elements.isEmpty: break
        default: return value
        }
        if kept.encodesLike(value) { return kept }
        kept = value
        return value
    }
}
