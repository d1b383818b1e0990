internal import COpenSSL

/// Signs a webhook body as `X-Holdfast-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, the MAC taken over
/// `"<t>." + body` (the scheme Stripe uses), so a receiver can refuse replays older than a few minutes.
public struct WebhookSigner: Sendable {
    private let secret: [UInt8]

    /// A signer with the configured `webhooks.secret`.
    public init(secret: String) { self.secret = Array(secret.utf8) }

    /// The header value for `body` sent at `timestamp` (Unix seconds).
    public func signature(body: [UInt8], timestamp: Int64) -> String {
        "t=\(timestamp),v1=" + Self.hex(mac(Array("\(timestamp).".utf8) + body))
    }

    /// HMAC-SHA256 of `message` under the secret.
    func mac(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = secret.withUnsafeBytes { key in
            message.withUnsafeBytes { bytes in
                out.withUnsafeMutableBufferPointer { output in
                    HMAC(
                        EVP_sha256(), key.baseAddress, Int32(key.count),
                        bytes.baseAddress?.assumingMemoryBound(
                            to: UInt8.self), bytes.count, output.baseAddress, &length)
                }
            }
        }
        // HMAC-SHA256 only fails if libcrypto itself is broken.
        precondition(result != nil && length == 32, "libcrypto HMAC-SHA256 failed")
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
