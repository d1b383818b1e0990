internal import COpenSSL

/// One direction's AEAD keys: an `EVP_CIPHER_CTX` keyed once, the IV (or TLS 1.2 GCM salt), and the material
/// they came from (the TLS 1.3 traffic secret, or TLS 1.2 key ‖ IV), kept for KeyUpdate and for export.
///
/// Immutable after init: a KeyUpdate makes a new instance rather than re-keying this one, so copies of a
/// ``TLSRecordLayer`` never see each other's keys change. Only the nonce is set per record.
/// Not thread-safe: the cipher context is scratch space for each record.
///
/// Memory: the keyed `EVP_CIPHER_CTX` (about 1.1 KiB, mostly the expanded key schedule) is the bulk of a
/// connection's TLS cost, so an idle connection drops it with ``releaseContext()`` and the next record re-keys
/// one from the raw key (about a microsecond).
final class TrafficKeys {
    let suite: CipherSuite
    /// Traffic secret (TLS 1.3) or key ‖ fixed IV (TLS 1.2); wiped on deinit.
    private(set) var material: [UInt8]
    private var iv: [UInt8]
    private var key: [UInt8]
    private var keyedContext: OpaquePointer?
    private let encrypting: Bool

    /// Keys one direction. Returns nil if the material has the wrong length or libcrypto fails.
    init?(suite: CipherSuite, material: [UInt8], encrypting: Bool) {
        guard material.count == suite.materialLength else { return nil }
        var key: [UInt8]
        var iv: [UInt8]
        if suite.version == .v1_3 {
            guard let derived = KeySchedule.trafficKeyAndIV(secret: material, suite: suite) else { return nil }
            (key, iv) = derived
        } else {
            key = Array(material[0..<suite.aead.keyLength])
            iv = Array(material[suite.aead.keyLength...])
        }
        self.iv = iv
        self.key = key
        self.suite = suite
        self.material = material
        self.encrypting = encrypting
        // The keyed context is made on first use (see makeContext): a connection handed over by a binary upgrade
        // may stay idle, and building thousands of contexts would lengthen the upgrade for nothing.
        guard suite.cipher != nil else {
            wipe(&self.key)
            wipe(&self.iv)
            return nil
        }
    }

    deinit {
        wipe(&material)
        wipe(&iv)
        wipe(&key)
        releaseContext()
    }

    /// The keyed cipher context, created from the raw key when missing.
    private func makeContext() -> OpaquePointer? {
        if let keyedContext { return keyedContext }
        guard let cipher = suite.cipher, let context = EVP_CIPHER_CTX_new() else { return nil }
        let keyed = key.withUnsafeBufferPointer { keyBytes in
            EVP_CipherInit_ex(context, cipher, nil, keyBytes.baseAddress, nil, encrypting ? 1 : 0)
        }
        guard keyed == 1 else {
            EVP_CIPHER_CTX_free(context)
            return nil
        }
        keyedContext = context
        return context
    }

    /// Frees the keyed cipher context (an idle connection's largest allocation); the next record re-creates it.
    func releaseContext() {
        guard let keyedContext else { return }
        // EVP_CIPHER_CTX_free cleanses the expanded key schedule.
        EVP_CIPHER_CTX_free(keyedContext)
        self.keyedContext = nil
    }

    /// The keys after a TLS 1.3 KeyUpdate in this direction.
    func next() -> TrafficKeys? {
        guard suite.version == .v1_3, var secret = KeySchedule.nextTrafficSecret(material, suite: suite) else {
            return nil
        }
        defer { wipe(&secret) }
        return TrafficKeys(suite: suite, material: secret, encrypting: encrypting)
    }

    /// Encrypts `text` in place and writes the 16-byte tag. `counter` is the record sequence number, which for
    /// TLS 1.2 GCM is also the explicit nonce.
    func seal(
        counter: UInt64, aad: UnsafeRawBufferPointer, text: UnsafeMutableRawBufferPointer,
        tag: UnsafeMutableRawPointer
    ) -> Bool {
        guard encrypting, let context = makeContext(), begin(context, counter: counter, aad: aad) else { return false }
        guard process(context, text) else { return false }
        var finalLength: Int32 = 0
        let end = text.baseAddress.map { $0 + text.count } ?? tag
        guard EVP_CipherFinal_ex(context, end.assumingMemoryBound(to: UInt8.self), &finalLength) == 1 else {
            return false
        }
        return EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1
    }

    /// Decrypts `text` in place and checks the tag; false means the record is forged or corrupt.
    func open(
        counter: UInt64, aad: UnsafeRawBufferPointer, text: UnsafeMutableRawBufferPointer, tag: UnsafeRawPointer
    ) -> Bool {
        guard !encrypting, let context = makeContext(), begin(context, counter: counter, aad: aad) else {
            return false
        }
        guard process(context, text) else { return false }
        // OpenSSL only reads the tag, but the control call is not const-correct.
        guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, 16, UnsafeMutableRawPointer(mutating: tag)) == 1
        else { return false }
        var finalLength: Int32 = 0
        var scratch: UInt8 = 0
        return EVP_CipherFinal_ex(context, &scratch, &finalLength) == 1
    }

    /// Sets the per-record nonce and feeds the additional data.
    private func begin(_ context: OpaquePointer, counter: UInt64, aad: UnsafeRawBufferPointer) -> Bool {
        var nonce: (UInt64, UInt32) = (0, 0)
        let nonceSet = withUnsafeMutableBytes(of: &nonce) { nonceBytes in
            for index in 0..<12 {
                let counterByte = index >= 4 ? UInt8(truncatingIfNeeded: counter >> (8 * UInt64(11 - index))) : 0
                if suite.usesExplicitNonce {
                    // salt4 ‖ explicit8, where the explicit part is the counter.
                    nonceBytes[index] = index < 4 ? iv[index] : counterByte
                } else {
                    nonceBytes[index] = iv[index] ^ counterByte
                }
            }
            return EVP_CipherInit_ex(
                context, nil, nil, nil, nonceBytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                encrypting ? 1 : 0)
        }
        guard nonceSet == 1 else { return false }
        var length: Int32 = 0
        return EVP_CipherUpdate(
            context, nil, &length, aad.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) == 1
    }

    private func process(_ context: OpaquePointer, _ text: UnsafeMutableRawBufferPointer) -> Bool {
        guard let base = text.baseAddress, text.count > 0 else { return true }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        var length: Int32 = 0
        return EVP_CipherUpdate(context, bytes, &length, bytes, Int32(text.count)) == 1
    }
}
