internal import COpenSSL
import HoldfastAuth

/// The admin listener's credentials and identity: the bearer token (configured, or generated once into the
/// state dir) and the binary's version string.
public final class AdminAccess: Sendable {
    /// The version string `GET /admin/status` reports.
    public let binaryVersion: String
    private let token: [UInt8]
    /// Where a generated token is kept (nil when configured).
    public let tokenPath: String?

    /// Uses `configuredToken`, or the token generated once into `stateDirectory` when it is empty.
    /// - Throws: `SecretError` when the state dir cannot hold the generated token.
    public init(configuredToken: String, stateDirectory: String, binaryVersion: String) throws {
        self.binaryVersion = binaryVersion
        if configuredToken.isEmpty {
            let secret = try SecretStore.loadOrCreate(
                configured: "", stateDirectory: stateDirectory, fileName: "admin_token")
            token = Array(AdminToken.text(fromStored: secret).utf8)
            tokenPath = stateDirectory + "/admin_token"
        } else {
            token = Array(configuredToken.utf8)
            tokenPath = nil
        }
    }

    /// The token as the CLI sends it.
    public var tokenText: String { String(decoding: token, as: UTF8.self) }

    /// Whether an `Authorization` header carries the token (compared in constant time).
    public func authorizes(_ header: String?) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let presented = Array(header.utf8.dropFirst(7))
        guard presented.count == token.count else { return false }
        return presented.withUnsafeBytes { a in
            token.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, token.count) == 0 }
        }
    }
}

/// How a generated admin token is presented: lowercase hex of the bytes stored in the state dir.
public enum AdminToken {
    /// The token text for the stored bytes (what the server expects and the CLI sends).
    public static func text(fromStored bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
