import Synchronization

/// Decides, once, between a swap that reached its commit point and a deadline that gave up on it, so that a
/// swap finishing late can never publish after its caller resumed the rooms with the old handler.
///
/// The swap calls ``commit()`` just before publishing, the deadline calls ``abandon()``; whichever comes first
/// wins and the other learns it lost.
public final class CommitGate: Sendable {
    private static let open: UInt8 = 0
    private static let committed: UInt8 = 1
    private static let abandoned: UInt8 = 2
    private let state = Atomic<UInt8>(CommitGate.open)

    public init() {}

    /// True when the swap may publish (the deadline has not given up on it); from then on ``abandon()`` fails.
    public func commit() -> Bool {
        state.compareExchange(expected: Self.open, desired: Self.committed, ordering: .acquiringAndReleasing).exchanged
            || state.load(ordering: .acquiring) == Self.committed
    }

    /// True when the swap is given up (it has not committed); from then on ``commit()`` fails.
    public func abandon() -> Bool {
        state.compareExchange(expected: Self.open, desired: Self.abandoned, ordering: .acquiringAndReleasing).exchanged
            || state.load(ordering: .acquiring) == Self.abandoned
    }
}
