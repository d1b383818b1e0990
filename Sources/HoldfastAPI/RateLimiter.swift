/// A token bucket per API key: `burst` requests at once, refilled at `perSecond`. Pure: the caller passes the
/// time (monotonic milliseconds) and keeps it behind a lock.
public struct RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    public let perSecond: Double
    public let burst: Double
    private var buckets: [String: Bucket] = [:]

    public init(perSecond: Int, burst: Int) {
        self.perSecond = Double(max(perSecond, 1))
        self.burst = Double(max(burst, 1))
    }

    /// Takes one token for `key` at `now`: nil when admitted, else the whole seconds to wait (at least 1).
    public mutating func admit(_ key: String, now: Int64) -> Int? {
        var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
        let elapsed = Double(max(0, now - bucket.updated)) / 1000
        bucket.tokens = min(burst, bucket.tokens + elapsed * perSecond)
        bucket.updated = now
        defer { buckets[key] = bucket }
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            return nil
        }
        let wait = (1 - bucket.tokens) / perSecond
        return max(1, Int(wait.rounded(.up)))
    }
}
