/// # HoldfastAuth
///
/// Signed connect tokens (in the spirit of `Phoenix.Token`) and the server secret that signs them.
///
/// **Contract.** `holdfast token --user ID [--ttl S]` prints ``ConnectToken/sign(user:issuedAt:ttlSeconds:secret:)``;
/// a client passes it as the `token` connect parameter; the upgrade handler calls
/// ``ConnectToken/verify(_:secret:now:)`` and answers 403 for any ``TokenError``. The secret comes from
/// ``SecretStore/loadOrCreate(configured:stateDirectory:fileName:)``.
///
/// **Errors.** Untrusted token text never traps: every bad input is a ``TokenError`` value. Secret problems
/// are ``SecretError`` values that say what the operator should do.
///
/// **Performance.** Verifying is one HMAC-SHA256 over about 40 bytes plus two small base64 decodes, once per
/// connection; no Foundation, no locks.

internal import COpenSSL
import HoldfastBytes

/// A signed, expiring token naming a user, passed by clients as the `token` connect parameter.
///
/// Format: `base64url(payload) + "." + base64url(HMAC-SHA256(secret, base64url(payload)))`, unpadded,
/// where `payload` is version byte `1` ‖ issuedAt (Int64 big-endian, Unix seconds) ‖ expiresAt
/// (Int64 big-endian, Unix seconds) ‖ the user id in UTF-8 (1 to 256 bytes). The MAC covers the encoded
/// payload text exactly as sent, so the signature is checked before any payload field is trusted.
public enum ConnectToken {
    /// The token format version this build signs and verifies.
    public static let version: UInt8 = 1
    /// The longest user id, in UTF-8 bytes, a token may carry.
    public static let maxUserBytes = 256
    /// Tokens longer than this are refused as malformed before any decoding (a version-1 token with a
    /// 256-byte user id is 421 characters).
    public static let maxTokenLength = 1_024

    private static let headerBytes = 17
    private static let macBytes = 32

    /// Signs a token for `user`, valid from `issuedAt` for `ttlSeconds`.
    ///
    /// - Parameters:
    ///   - user: The user id; 1 to ``maxUserBytes`` UTF-8 bytes (the command line checks this first).
    ///   - issuedAt: Unix seconds when the token is issued.
    ///   - ttlSeconds: Seconds until it expires; 0 or more.
    ///   - secret: The server secret, non-empty (see ``SecretStore``).
    /// - Returns: The token text, URL- and header-safe.
    /// - Precondition: `user` and `secret` are within the limits above; violating them is a caller bug.
    public static func sign(user: String, issuedAt: Int64, ttlSeconds: Int64, secret: [UInt8]) -> String {
        let userBytes = Array(user.utf8)
        precondition(!userBytes.isEmpty && userBytes.count <= maxUserBytes, "user id must be 1...256 UTF-8 bytes")
        precondition(ttlSeconds >= 0, "ttlSeconds must not be negative")
        precondition(!secret.isEmpty, "the secret must not be empty")
        let (sum, overflow) = issuedAt.addingReportingOverflow(ttlSeconds)
        let expiresAt = overflow ? Int64.max : sum

        var payload: [UInt8] = [version]
        payload.reserveCapacity(headerBytes + userBytes.count)
        appendBigEndian(issuedAt, to: &payload)
        appendBigEndian(expiresAt, to: &payload)
        payload.append(contentsOf: userBytes)

        let encodedPayload = Base64.encode(payload, alphabet: .url)
        let mac = hmacSHA256(key: secret, message: Array(encodedPayload.utf8))
        return encodedPayload + "." + Base64.encode(mac, alphabet: .url)
    }

    /// Verifies `token` and returns the user id it names.
    ///
    /// The signature is compared in constant time (`CRYPTO_memcmp`) before any payload field is read.
    ///
    /// - Parameters:
    ///   - token: The `token` connect parameter as received.
    ///   - secret: The server secret the token must have been signed with.
    ///   - now: The current Unix time in seconds; the token is expired when `now >= expiresAt`.
    /// - Returns: The user id, or the ``TokenError`` explaining the refusal. Never traps on any input.
    public static func verify(_ token: Substring, secret: [UInt8], now: Int64) -> Result<String, TokenError> {
        verifyClaims(token, secret: secret, now: now).map(\.user)
    }

    /// Verifies `token` like ``verify(_:secret:now:)`` and returns the user id with the time it was issued
    /// (Unix seconds), so a per-user "not before" can refuse tokens issued before it.
    public static func verifyClaims(
        _ token: Substring, secret: [UInt8], now: Int64
    ) -> Result<(user: String, issuedAt: Int64), TokenError> {
        let text = token.utf8
        guard !secret.isEmpty, text.count <= maxTokenLength,
            let dot = text.firstIndex(of: UInt8(ascii: "."))
        else { return .failure(.malformed) }
        let encodedPayload = text[..<dot]
        let encodedMAC = text[text.index(after: dot)...]
        guard let payload = Base64.decode(encodedPayload, alphabet: .url),
            let mac = Base64.decode(encodedMAC, alphabet: .url), mac.count == macBytes
        else { return .failure(.malformed) }

        let expected = hmacSHA256(key: secret, message: Array(encodedPayload))
        let differs = expected.withUnsafeBytes { expectedBytes in
            mac.withUnsafeBytes { macBytesPointer in
                CRYPTO_memcmp(expectedBytes.baseAddress, macBytesPointer.baseAddress, macBytes)
            }
        }
        guard differs == 0 else { return .failure(.badSignature) }

        // Authenticated from here on; the version decides the layout of the rest.
        guard let tokenVersion = payload.first else { return .failure(.malformed) }
        guard tokenVersion == version else { return .failure(.unsupportedVersion) }
        let userBytes = payload.dropFirst(headerBytes)
        guard payload.count > headerBytes, userBytes.count <= maxUserBytes,
            let user = String(validating: userBytes, as: UTF8.self)
        else { return .failure(.malformed) }
        let expiresAt = readBigEndian(payload, at: 9)
        guard now < expiresAt else { return .failure(.expired) }
        return .success((user, readBigEndian(payload, at: 1)))
    }

    /// HMAC-SHA256 of `message` under `key`, via libcrypto's one-shot `HMAC`.
    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: macBytes)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBufferPointer { messageBytes in
                out.withUnsafeMutableBufferPointer { outBytes in
                    HMAC(
                        EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count), messageBytes.baseAddress,
                        messageBytes.count, outBytes.baseAddress, &length)
                }
            }
        }
        // HMAC-SHA256 only fails if libcrypto itself is broken (no SHA-256, allocation failure).
        precondition(result != nil && length == UInt32(macBytes), "libcrypto HMAC-SHA256 failed")
        return out
    }

    private static func appendBigEndian(_ value: Int64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> Int64(shift)))
        }
    }

    private static func readBigEndian(_ bytes: [UInt8], at offset: Int) -> Int64 {
        var value: Int64 = 0
        for index in offset..<offset + 8 {
            value = value << 8 | Int64(bytes[index])
        }
        return value
    }
}
