internal import COpenSSL

/// The two key derivations the record layer needs, on libcrypto's EVP_KDF (HKDF and TLS1-PRF).
enum KeySchedule {
    /// TLS 1.3 `HKDF-Expand-Label(secret, label, context, length)` (RFC 8446 section 7.1).
    static func expandLabel(
        secret: [UInt8], label: String, context: [UInt8] = [], length: Int, suite: CipherSuite
    ) -> [UInt8]? {
        let fullLabel = Array("tls13 ".utf8) + Array(label.utf8)
        guard length <= 0xFFFF, fullLabel.count <= 255, context.count <= 255 else { return nil }
        var info: [UInt8] = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(fullLabel.count)]
        info += fullLabel
        info.append(UInt8(context.count))
        info += context
        return derive(
            kdf: hkdf,
            strings: [("mode", "EXPAND_ONLY"), ("digest", suite.digestName)],
            octets: [("key", secret), ("info", info)],
            length: length
        )
    }

    /// The TLS 1.3 traffic key and IV for one direction's traffic secret.
    static func trafficKeyAndIV(secret: [UInt8], suite: CipherSuite) -> (key: [UInt8], iv: [UInt8])? {
        guard let key = expandLabel(secret: secret, label: "key", length: suite.aead.keyLength, suite: suite),
              let iv = expandLabel(secret: secret, label: "iv", length: 12, suite: suite)
        else { return nil }
        return (key, iv)
    }

    /// The next TLS 1.3 application traffic secret after a KeyUpdate.
    static func nextTrafficSecret(_ secret: [UInt8], suite: CipherSuite) -> [UInt8]? {
        expandLabel(secret: secret, label: "traffic upd", length: suite.hashLength, suite: suite)
    }

    /// The TLS 1.2 key block `PRF(master, "key expansion", server_random ‖ client_random)`.
    static func tls12KeyBlock(
        master: [UInt8], clientRandom: [UInt8], serverRandom: [UInt8], length: Int, suite: CipherSuite
    ) -> [UInt8]? {
        let seed = Array("key expansion".utf8) + serverRandom + clientRandom
        return derive(
            kdf: tls1PRF,
            strings: [("digest", suite.digestName)],
            octets: [("secret", master), ("seed", seed)],
            length: length
        )
    }

    /// Runs one EVP_KDF derivation. Octet parameters are copied into buffers that are wiped afterwards,
    /// because they hold secrets.
    private static func derive(
        kdf: OpaquePointer?,
        strings: [(StaticString, StaticString)],
        octets: [(StaticString, [UInt8])],
        length: Int
    ) -> [UInt8]? {
        guard let kdf, let context = EVP_KDF_CTX_new(kdf) else { return nil }
        defer { EVP_KDF_CTX_free(context) }
        var buffers: [(pointer: UnsafeMutableRawPointer, count: Int)] = []
        defer {
            for buffer in buffers {
                OPENSSL_cleanse(buffer.pointer, buffer.count)
                buffer.pointer.deallocate()
            }
        }
        var parameters: [OSSL_PARAM] = []
        for (key, value) in strings {
            parameters.append(OSSL_PARAM_construct_utf8_string(
                cString(key), UnsafeMutablePointer(mutating: cString(value)), 0))
        }
        for (key, value) in octets {
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: max(value.count, 1), alignment: 1)
            value.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
            }
            buffers.append((pointer, max(value.count, 1)))
            parameters.append(OSSL_PARAM_construct_octet_string(cString(key), pointer, value.count))
        }
        parameters.append(OSSL_PARAM_construct_end())
        var output = [UInt8](repeating: 0, count: length)
        let status = output.withUnsafeMutableBufferPointer { out in
            EVP_KDF_derive(context, out.baseAddress, length, &parameters)
        }
        guard status == 1 else { return nil }
        return output
    }

    /// Static strings live for the whole process, so OpenSSL may keep pointers to them during a call.
    private static func cString(_ string: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}

// Fetched once: EVP_KDF objects are immutable and shareable between threads.
nonisolated(unsafe) private let hkdf = EVP_KDF_fetch(nil, "HKDF", nil)
nonisolated(unsafe) private let tls1PRF = EVP_KDF_fetch(nil, "TLS1-PRF", nil)

/// Overwrites secret bytes before the array's storage is released.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
    }
    bytes.removeAll()
}
