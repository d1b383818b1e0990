import HoldfastCore
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

extension CommitGate {
    /// Runs `swap` with a fresh gate on a thread of its own and waits for it at most `deadlineMilliseconds`. Past
    /// that the swap is abandoned (its gate keeps it from publishing should it ever return), `onAbandon` runs, and
    /// the answer is ``PluginUpgradeError/swapTimedOut(milliseconds:)``: the caller resumes the rooms with the
    /// current handler while the stuck thread stays in the plugin's code.
    public static func run<Value: Sendable>(
        _ swap: @escaping @Sendable (CommitGate) throws(PluginUpgradeError) -> Value, deadlineMilliseconds: Int,
        onAbandon: () -> Void
    ) -> Result<Value, PluginUpgradeError> {
        let gate = CommitGate()
        let done = ThreadSemaphore()
        let outcome = Mutex<Result<Value, PluginUpgradeError>?>(nil)
        startThread {
            let result: Result<Value, PluginUpgradeError>
            do throws(PluginUpgradeError) { result = .success(try swap(gate)) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        if !done.wait(timeoutMilliseconds: deadlineMilliseconds) {
            if gate.abandon() {
                onAbandon()
                return .failure(.swapTimedOut(milliseconds: deadlineMilliseconds))
            }
            done.wait()  // it reached its commit point just now; publishing is a pointer swap
        }
        return outcome.withLock { $0 } ?? .failure(.abandoned)
    }
}
