/// A weak reference to a loop-confined object, carried through a `@Sendable` closure back to its own loop (where
/// alone `value` may be read).
public struct LoopBound<Object: AnyObject>: @unchecked Sendable {
    /// The object, while it lives.
    public weak var value: Object?

    /// A reference to `value`.
    public init(_ value: Object) { self.value = value }
}
