import HoldfastAuth
import HoldfastHTTP
import HoldfastJSON
import Synchronization

/// `POST /demo/token {"user": NAME}`: a signed connect token for anyone who asks, which is why it lives only
/// while the demo page is on, is short-lived and is rate-limited (one bucket for the whole process: the demo
/// serves a handful of people, and a bucket per address would need the peer's address to be trusted).
final class DemoTokens: Sendable {
    /// How long a demo token is valid; the page asks for a new one before it runs out.
    static let ttlSeconds: Int64 = 900
    /// Tokens one burst may take, and the time after which one more is available.
    static let burst = 20
    static let refillMilliseconds: Int64 = 1_000
    /// Longest user name, in UTF-8 bytes.
    static let maxUserBytes = 64

    private let secret: [UInt8]
    private let bucket = Mutex<Bucket>(Bucket())

    struct Bucket {
        var tokens = DemoTokens.burst
        var lastRefill: Int64?
    }

    init(secret: [UInt8]) { self.secret = secret }

    func answer(body: [UInt8], now: Int64, wallSeconds: Int64) -> HTTPResponse {
        guard take(now: now) else {
            return .plainText(
                HTTPStatus(rawValue: 429), "too many demo tokens, try again shortly",
                extraHeaders: [("Retry-After", "1")])
        }
        let parsed = try? body.withUnsafeBytes { try JSON.parse($0) }
        guard let user = parsed?["user"]?.stringValue.flatMap(Self.validUser) else {
            return .plainText(.badRequest, "expected {\"user\": NAME}, 1 to 64 bytes without control characters")
        }
        let token = ConnectToken.sign(user: user, issuedAt: wallSeconds, ttlSeconds: Self.ttlSeconds, secret: secret)
        let answer = JSONValue.object([
            JSONMember("token", .string(token)), JSONMember("user", .string(user)),
            JSONMember("expires_in", .integer(Self.ttlSeconds)),
        ])
        return HTTPResponse(
            status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
            body: JSON.encode(answer))
    }

    /// The name trimmed of surrounding spaces, if it is acceptable.
    static func validUser(_ name: String) -> String? {
        let trimmed = name.trimmingSpaces
        guard !trimmed.isEmpty, trimmed.utf8.count <= maxUserBytes else { return nil }
        guard !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else { return nil }
        return trimmed
    }

    /// Takes one token from the bucket if there is one.
    func take(now: Int64) -> Bool {
        bucket.withLock { bucket in
            let last = bucket.lastRefill ?? now
            let earned = Int((now - last) / Self.refillMilliseconds)
            if earned > 0 || bucket.lastRefill == nil {
                bucket.tokens = min(Self.burst, bucket.tokens + max(0, earned))
                bucket.lastRefill = last + Int64(max(0, earned)) * Self.refillMilliseconds
            }
            guard bucket.tokens > 0 else { return false }
            bucket.tokens -= 1
            return true
        }
    }
}

extension String {
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " }) ?? first
        return String(scalars[first...last])
    }
}
