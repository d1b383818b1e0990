internal import COpenSSL

/// The AEAD cipher suites the record layer carries, keyed by their IANA code points.
///
/// TLS 1.2 is limited to ECDHE with AEAD ciphers on purpose: CBC suites would need MAC-then-encrypt with
/// constant-time padding checks, and the server context's cipher list never offers them.
enum CipherSuite: UInt16, Sendable {
    case tls13AES128GCMSHA256 = 0x1301
    case tls13AES256GCMSHA384 = 0x1302
    case tls13ChaCha20Poly1305SHA256 = 0x1303
    case ecdheECDSAAES128GCMSHA256 = 0xC02B
    case ecdheECDSAAES256GCMSHA384 = 0xC02C
    case ecdheRSAAES128GCMSHA256 = 0xC02F
    case ecdheRSAAES256GCMSHA384 = 0xC030
    case ecdheRSAChaCha20Poly1305 = 0xCCA8
    case ecdheECDSAChaCha20Poly1305 = 0xCCA9

    /// The AEAD algorithm behind a suite.
    enum AEAD: Sendable {
        case aes128GCM, aes256GCM, chacha20Poly1305

        var keyLength: Int { self == .aes128GCM ? 16 : 32 }
    }

    var version: TLSVersion {
        switch self {
        case .tls13AES128GCMSHA256, .tls13AES256GCMSHA384, .tls13ChaCha20Poly1305SHA256: .v1_3
        default: .v1_2
        }
    }

    var aead: AEAD {
        switch self {
        case .tls13AES128GCMSHA256, .ecdheECDSAAES128GCMSHA256, .ecdheRSAAES128GCMSHA256: .aes128GCM
        case .tls13AES256GCMSHA384, .ecdheECDSAAES256GCMSHA384, .ecdheRSAAES256GCMSHA384: .aes256GCM
        case .tls13ChaCha20Poly1305SHA256, .ecdheRSAChaCha20Poly1305, .ecdheECDSAChaCha20Poly1305: .chacha20Poly1305
        }
    }

    /// Only the AES-256 suites use SHA-384; everything else here is SHA-256.
    var usesSHA384: Bool { aead == .aes256GCM }

    var hashLength: Int { usesSHA384 ? 48 : 32 }

    var digestName: StaticString { usesSHA384 ? "SHA384" : "SHA256" }

    /// TLS 1.2 only: GCM sends an 8-byte explicit nonce and keeps a 4-byte salt; ChaCha20 XORs a 12-byte IV.
    var usesExplicitNonce: Bool { version == .v1_2 && aead != .chacha20Poly1305 }

    /// Bytes of IV material per direction: 12 in TLS 1.3 and for TLS 1.2 ChaCha20, the 4-byte salt for TLS 1.2 GCM.
    var fixedIVLength: Int { usesExplicitNonce ? 4 : 12 }

    /// Bytes each direction contributes to the exported state: the traffic secret (1.3) or key ‖ IV (1.2).
    var materialLength: Int { version == .v1_3 ? hashLength : aead.keyLength + fixedIVLength }

    /// Bytes a record adds around its plaintext: the tag, plus the explicit nonce for TLS 1.2 GCM.
    var recordOverhead: Int { usesExplicitNonce ? 24 : 16 }

    var name: String {
        switch self {
        case .tls13AES128GCMSHA256: "TLS_AES_128_GCM_SHA256"
        case .tls13AES256GCMSHA384: "TLS_AES_256_GCM_SHA384"
        case .tls13ChaCha20Poly1305SHA256: "TLS_CHACHA20_POLY1305_SHA256"
        case .ecdheECDSAAES128GCMSHA256: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        case .ecdheECDSAAES256GCMSHA384: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
        case .ecdheRSAAES128GCMSHA256: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        case .ecdheRSAAES256GCMSHA384: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        case .ecdheRSAChaCha20Poly1305: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        case .ecdheECDSAChaCha20Poly1305: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        }
    }

    /// The fetched cipher; fetched once per process because implicit fetches cost a lock and a lookup each.
    var cipher: OpaquePointer? {
        switch aead {
        case .aes128GCM: fetchedAES128GCM
        case .aes256GCM: fetchedAES256GCM
        case .chacha20Poly1305: fetchedChaCha20Poly1305
        }
    }
}

// Fetched EVP_CIPHER objects are immutable and thread-safe once fetched; globals initialise lazily and once.
nonisolated(unsafe) private let fetchedAES128GCM = EVP_CIPHER_fetch(nil, "AES-128-GCM", nil)
nonisolated(unsafe) private let fetchedAES256GCM = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
nonisolated(unsafe) private let fetchedChaCha20Poly1305 = EVP_CIPHER_fetch(nil, "ChaCha20-Poly1305", nil)
