public import HoldfastConfig

/// The configured API keys: which key a bearer token is, and whether it may use a scope.
public struct APIKeyRing: Sendable {
    private let keys: [APIKeySpec]

    public init(keys: [APIKeySpec]) { self.keys = keys }

    /// The key of an `Authorization: Bearer <secret>` header, or nil. Every key is compared in full, in time
    /// independent of where the secrets differ.
    public func key(authorization: String?) -> APIKeySpec? {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
        let presented = Array(authorization.dropFirst("Bearer ".count).utf8)
        var found: APIKeySpec?
        for key in keys where Self.equal(Array(key.secret.utf8), presented) { found = key }
        return found
    }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
