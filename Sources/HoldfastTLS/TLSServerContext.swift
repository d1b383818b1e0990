/// HoldfastTLS: TLS for connections that outlive the process that accepted them.
///
/// Lifecycle: a ``TLSServerContext`` is built once at startup (a ``TLSConfigurationError`` names the broken
/// file). Each accepted connection gets a ``TLSServerHandshake``, fed the bytes read from the socket; OpenSSL
/// sees them one TLS record at a time and does only the handshake. On `.established`, OpenSSL is freed and a
/// ``TLSRecordLayer`` (our own, on libcrypto AEAD) carries the connection. Its state is a few keys and sequence
/// numbers, serialized with ``TLSRecordLayer/exportState()`` when a new binary takes over the socket.
///
/// Errors: peer and protocol faults are ``TLSError`` values naming the alert we send; the caller flushes the
/// output and closes. No peer input can reach a trap.
///
/// Performance: no allocation per record besides growing the caller's buffers; records are decrypted in place.
/// Nothing here is thread-safe except the context, which is shared by all handshakes.
internal import COpenSSL
internal import Glibc

/// TLS protocol versions we allow as a minimum.
public enum TLSVersion: Sendable, Equatable {
    /// TLS 1.2 (AEAD suites only) and TLS 1.3.
    case v1_2
    /// TLS 1.3 only.
    case v1_3
}

/// A server context: certificate chain and key loaded from PEM files, with the settings the record-layer
/// handoff relies on (no session tickets, no early data, no renegotiation, AEAD-only TLS 1.2 suites).
///
/// Thread-safe after init (an `SSL_CTX` may be shared by handshakes on several threads).
public final class TLSServerContext: @unchecked Sendable {
    /// The OpenSSL context; immutable after init.
    let context: OpaquePointer

    /// Loads the certificate chain and private key and configures the context.
    ///
    /// - Parameters:
    ///   - certificateChainPath: PEM file with the leaf certificate first, then any intermediates.
    ///   - privateKeyPath: PEM file with the matching, unencrypted private key.
    ///   - minimumVersion: the oldest protocol version accepted.
    /// - Throws: ``TLSConfigurationError`` for a missing or unreadable file, invalid PEM, or a key that does not
    ///   match the certificate.
    public init(
        certificateChainPath: String, privateKeyPath: String, minimumVersion: TLSVersion = .v1_2
    ) throws(TLSConfigurationError) {
        try Self.checkReadable(certificateChainPath, role: .certificateChain)
        try Self.checkReadable(privateKeyPath, role: .privateKey)
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw .openSSLFailure("SSL_CTX_new: \(openSSLErrorDescription())")
        }
        do throws(TLSConfigurationError) {
            try Self.configure(context, minimumVersion: minimumVersion)
            try Self.loadCredentials(context, certificateChainPath: certificateChainPath, keyPath: privateKeyPath)
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
    }

    deinit {
        SSL_CTX_free(context)
    }

    private static func configure(_ context: OpaquePointer, minimumVersion: TLSVersion) throws(TLSConfigurationError) {
        let minimum = minimumVersion == .v1_3 ? TLS1_3_VERSION : TLS1_2_VERSION
        guard holdfast_SSL_CTX_set_min_proto_version(context, minimum) == 1,
              SSL_CTX_set_cipher_list(context, "ECDHE+AESGCM:ECDHE+CHACHA20") == 1,
              // No tickets: OpenSSL then writes nothing after the client Finished, so our write sequence
              // starts at 0, and no resumption secret outlives the process that issued it.
              SSL_CTX_set_num_tickets(context, 0) == 1,
              // Our record layer has no early-data key.
              SSL_CTX_set_max_early_data(context, 0) == 1
        else { throw .openSSLFailure(openSSLErrorDescription()) }
        _ = SSL_CTX_set_options(context, UInt64(
            holdfast_SSL_OP_NO_RENEGOTIATION() | holdfast_SSL_OP_NO_TICKET() | holdfast_SSL_OP_NO_COMPRESSION()
                | holdfast_SSL_OP_CIPHER_SERVER_PREFERENCE()))
        // A session cache would only help resumption within one process generation; keep behaviour uniform.
        _ = holdfast_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
        // An encrypted key must fail loudly instead of prompting on the terminal.
        SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
        SSL_CTX_set_keylog_callback(context) { ssl, line in
            guard let ssl, let line, let handshake = holdfast_SSL_get_app_data(ssl) else { return }
            Unmanaged<TLSServerHandshake>.fromOpaque(handshake).takeUnretainedValue().recordKeyLogLine(line)
        }
        SSL_CTX_set_alpn_select_cb(context, { _, selected, selectedLength, offered, offeredLength, _ in
            guard let selected, let selectedLength, let offered,
                  let match = findHTTP11(in: UnsafeRawBufferPointer(start: offered, count: Int(offeredLength)))
            else { return SSL_TLSEXT_ERR_NOACK }
            selected.pointee = offered + match
            selectedLength.pointee = 8
            return SSL_TLSEXT_ERR_OK
        }, nil)
    }

    private static func loadCredentials(
        _ context: OpaquePointer, certificateChainPath: String, keyPath: String
    ) throws(TLSConfigurationError) {
        ERR_clear_error()
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainPath) == 1 else {
            throw .invalidPEM(.certificateChain, path: certificateChainPath, detail: openSSLErrorDescription())
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
            let detail = openSSLErrorDescription()
            // OpenSSL checks the pair while loading the key and reports a mismatch with this reason.
            if detail.contains("key values mismatch") {
                throw .keyDoesNotMatchCertificate(certificatePath: certificateChainPath, keyPath: keyPath)
            }
            throw .invalidPEM(.privateKey, path: keyPath, detail: detail)
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            ERR_clear_error()
            throw .keyDoesNotMatchCertificate(certificatePath: certificateChainPath, keyPath: keyPath)
        }
    }

    private static func checkReadable(
        _ path: String, role: TLSConfigurationError.FileRole
    ) throws(TLSConfigurationError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(role, path: path) }
            throw .fileUnreadable(role, path: path, reason: String(cString: strerror(code)))
        }
        close(descriptor)
    }
}

/// The offset of "http/1.1" in an ALPN protocol list, walking the length-prefixed entries with bounds checks.
private func findHTTP11(in list: UnsafeRawBufferPointer) -> Int? {
    let wanted = Array("http/1.1".utf8)
    var offset = 0
    while offset < list.count {
        let length = Int(list[offset])
        let start = offset + 1
        guard length > 0, list.count - start >= length else { return nil }
        if length == wanted.count && list[start..<start + length].elementsEqual(wanted) { return start }
        offset = start + length
    }
    return nil
}

/// Drains this thread's OpenSSL error queue into one line (OpenSSL keeps errors per thread).
func openSSLErrorDescription() -> String {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        guard code != 0 else { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return reasons.isEmpty ? "unknown OpenSSL error" : reasons.joined(separator: "; ")
}
