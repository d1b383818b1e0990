import COpenSSL

/// The OpenSSL client context every TLS benchmark connection of a process shares.
///
/// Certificates are not verified: the benchmark talks to a server on loopback that usually has a self-signed
/// certificate, and what it measures is the server's cost of TLS, not the trust chain. Immutable after `init`,
/// which is what makes sharing the `SSL_CTX` across loop threads safe (OpenSSL locks its own counters).
final class BenchTLSContext: @unchecked Sendable {
    fileprivate let context: OpaquePointer

    /// Creates a TLS 1.2+ client context with verification off.
    init() throws(BenchError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw BenchError("cannot create the TLS client context: \(openSSLErrors())")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        _ = holdfast_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        // Idle connections give their 16 KiB record buffers back, as the server's record layer does.
        _ = holdfast_SSL_CTX_set_mode(context, Int(SSL_MODE_RELEASE_BUFFERS))
        self.context = context
    }

    deinit {
        SSL_CTX_free(context)
    }
}

/// One connection's client TLS, driven entirely through a pair of memory BIOs: the connection feeds it the
/// bytes it reads from the socket and sends whatever it produces, so the socket stays on our own reactor.
///
/// Thread ownership: used on its connection's loop thread only.
final class BenchTLSClient {
    /// What decrypting returned.
    enum ReadResult {
        /// This many plaintext bytes were written to the buffer.
        case data(Int)
        /// Nothing more until more ciphertext arrives.
        case wouldBlock
        /// The server sent close_notify.
        case closed
        /// A fatal TLS error, with OpenSSL's reason.
        case failed(String)
    }

    private var ssl: OpaquePointer?
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    /// Whether the handshake has completed; application data flows only then.
    private(set) var established = false

    /// Creates the connection's `SSL` in connect state; `serverName` is sent as SNI when given.
    init(context: BenchTLSContext, serverName: String?) throws(BenchError) {
        guard let ssl = SSL_new(context.context) else { throw BenchError("SSL_new failed: \(openSSLErrors())") }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw BenchError("BIO_new failed")
        }
        // An empty read BIO means "wait for more", not end of file.
        _ = holdfast_BIO_set_mem_eof_return(readBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_connect_state(ssl)
        if let serverName {
            // SSL_set_tlsext_host_name is a macro over SSL_ctrl.
            _ = serverName.withCString {
                SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name), UnsafeMutableRawPointer(mutating: $0))
            }
        }
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
    }

    deinit {
        // SSL_free frees both BIOs too.
        if let ssl { SSL_free(ssl) }
    }

    /// Advances the handshake with the ciphertext fed so far (the first call produces the ClientHello); nil
    /// while it goes on or once it is done, else the reason it failed.
    func handshake() -> String? {
        guard let ssl, !established else { return nil }
        ERR_clear_error()
        let status = SSL_do_handshake(ssl)
        if status == 1 {
            established = true
            return nil
        }
        let error = SSL_get_error(ssl, status)
        return error == SSL_ERROR_WANT_READ ? nil : "TLS handshake failed: \(openSSLErrors(fallback: error))"
    }

    /// Hands ciphertext read from the socket to OpenSSL (the memory BIO copies it, so the buffer is free again).
    func feed(_ ciphertext: UnsafeRawBufferPointer) {
        guard !ciphertext.isEmpty else { return }
        // A memory BIO grows as needed, so the write always takes everything.
        _ = BIO_write(readBIO, ciphertext.baseAddress, Int32(ciphertext.count))
    }

    /// Decrypts up to `buffer.count` bytes of application data.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        guard let ssl else { return .closed }
        ERR_clear_error()
        let count = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if count > 0 { return .data(Int(count)) }
        switch SSL_get_error(ssl, count) {
        case SSL_ERROR_WANT_READ: return .wouldBlock
        case SSL_ERROR_ZERO_RETURN: return .closed
        case let error: return .failed("TLS read failed: \(openSSLErrors(fallback: error))")
        }
    }

    /// Encrypts `plaintext` into records waiting in the write BIO; nil on success, else the reason.
    func write(_ plaintext: UnsafeRawBufferPointer) -> String? {
        guard let ssl, established else { return "TLS write before the handshake completed" }
        var offset = 0
        while offset < plaintext.count {
            ERR_clear_error()
            let count = SSL_write(ssl, plaintext.baseAddress! + offset, Int32(min(plaintext.count - offset, 1 << 20)))
            guard count > 0 else { return "TLS write failed: \(openSSLErrors(fallback: SSL_get_error(ssl, count)))" }
            offset += Int(count)
        }
        return nil
    }

    /// Whether records are waiting to go to the socket.
    var hasOutput: Bool { holdfast_BIO_ctrl_pending(writeBIO) > 0 }

    /// Appends the records waiting in the write BIO to `output`.
    func drain(into output: inout [UInt8]) {
        while true {
            let pending = holdfast_BIO_ctrl_pending(writeBIO)
            guard pending > 0 else { return }
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: pending))
            let read = output.withUnsafeMutableBytes { BIO_read(writeBIO, $0.baseAddress! + start, Int32(pending)) }
            output.removeSubrange((start + Int(max(read, 0)))...)
            if read <= 0 { return }
        }
    }
}

/// OpenSSL's queued error reasons, or the `SSL_get_error` code when the queue is empty.
private func openSSLErrors(fallback: Int32? = nil) -> String {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        guard code != 0 else { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    if reasons.isEmpty { return fallback.map { "SSL_get_error \($0)" } ?? "unknown error" }
    return reasons.joined(separator: "; ")
}
