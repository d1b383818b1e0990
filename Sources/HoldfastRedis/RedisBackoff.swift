import Glibc

/// Delays between reconnect attempts: exponential growth to a cap, with "equal jitter" so a fleet of nodes that
/// lost Redis together does not reconnect in lockstep.
///
/// Attempt n (0-based) waits a random time in `[c·(1−jitter), c]` where `c = min(maximum, initial·multiplierⁿ)`.
/// Pure value: the caller supplies the random generator (seeded in tests).
public struct RedisBackoff: Sendable, Equatable {
    /// Delay ceiling of the first attempt, in milliseconds.
    public var initialMilliseconds: Int64
    /// The largest delay ceiling, in milliseconds.
    public var maximumMilliseconds: Int64
    /// Growth of the ceiling per attempt.
    public var multiplier: Double
    /// Fraction of each ceiling that is randomised (0: none, 1: anywhere from 0 to the ceiling).
    public var jitter: Double
    /// Attempts made since the last ``reset()``.
    public private(set) var attempt = 0

    /// Creates a policy; the defaults start at 100 ms and cap at 5 s.
    public init(
        initialMilliseconds: Int64 = 100, maximumMilliseconds: Int64 = 5_000, multiplier: Double = 2,
        jitter: Double = 0.5
    ) {
        precondition(initialMilliseconds > 0 && maximumMilliseconds >= initialMilliseconds, "invalid backoff bounds")
        precondition(multiplier >= 1 && (0...1).contains(jitter), "invalid backoff growth or jitter")
        self.initialMilliseconds = initialMilliseconds
        self.maximumMilliseconds = maximumMilliseconds
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The ceiling for the next attempt, before jitter.
    public var currentCeiling: Int64 {
        let grown = Double(initialMilliseconds) * pow(multiplier, Double(min(attempt, 64)))
        return grown >= Double(maximumMilliseconds) ? maximumMilliseconds : Int64(grown)
    }

    /// The delay before the next attempt; counts the attempt.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Int64 {
        let ceiling = currentCeiling
        attempt += 1
        let spread = Int64(Double(ceiling) * jitter)
        guard spread > 0 else { return ceiling }
        return ceiling - spread + Int64.random(in: 0...spread, using: &generator)
    }

    /// Starts over from the initial delay (after a successful connection).
    public mutating func reset() { attempt = 0 }
}
