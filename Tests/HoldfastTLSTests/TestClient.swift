import COpenSSL
@testable import HoldfastTLS

/// An OpenSSL client on memory BIOs, the peer our server code talks to in tests.
final class TestClient {
    private let context: OpaquePointer
    let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    private(set) var isConnected = false

    /// - Parameters:
    ///   - tls13Suite: restrict TLS 1.3 to this suite (and forbid 1.2) when set.
    ///   - tls12Cipher: force TLS 1.2 with this OpenSSL cipher name when set.
    init(tls13Suite: String? = nil, tls12Cipher: String? = nil, alpn: [String] = [], maxFragmentCode: UInt8 = 0) {
        context = SSL_CTX_new(TLS_client_method())!
        if let tls13Suite {
            _ = holdfast_SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION)
            _ = SSL_CTX_set_ciphersuites(context, tls13Suite)
        }
        if let tls12Cipher {
            _ = holdfast_SSL_CTX_set_max_proto_version(context, TLS1_2_VERSION)
            _ = SSL_CTX_set_cipher_list(context, tls12Cipher)
        }
        ssl = SSL_new(context)!
        readBIO = BIO_new(BIO_s_mem())!
        writeBIO = BIO_new(BIO_s_mem())!
        _ = holdfast_BIO_set_mem_eof_return(readBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_connect_state(ssl)
        if !alpn.isEmpty {
            var wire: [UInt8] = []
            for name in alpn { wire.append(UInt8(name.utf8.count)); wire += Array(name.utf8) }
            _ = SSL_set_alpn_protos(ssl, wire, UInt32(wire.count))
        }
        if maxFragmentCode != 0 { _ = SSL_set_tlsext_max_fragment_length(ssl, maxFragmentCode) }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    /// Runs the client handshake as far as it can go; true once connected.
    @discardableResult
    func step() -> Bool {
        if !isConnected { isConnected = SSL_do_handshake(ssl) == 1 }
        return isConnected
    }

    func feed(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        _ = BIO_write(readBIO, bytes, Int32(bytes.count))
    }

    func takeOutput() -> [UInt8] {
        let pending = holdfast_BIO_ctrl_pending(writeBIO)
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = BIO_read(writeBIO, &bytes, Int32(pending))
        return Array(bytes.prefix(Int(max(read, 0))))
    }

    func write(_ data: [UInt8]) {
        var offset = 0
        while offset < data.count {
            let written = data[offset...].withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
            guard written > 0 else { fatalError("SSL_write failed: \(openSSLErrorDescription())") }
            offset += Int(written)
        }
    }

    /// Reads every byte of application data available from what was fed so far.
    func read() -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = SSL_read(ssl, &buffer, Int32(buffer.count))
            guard count > 0 else { break }
            result += buffer.prefix(Int(count))
        }
        return result
    }

    /// The error SSL_read reports once all available data is read (e.g. SSL_ERROR_ZERO_RETURN after close_notify).
    func readError() -> Int32 {
        var byte: UInt8 = 0
        let count = SSL_read(ssl, &byte, 1)
        return count > 0 ? 0 : SSL_get_error(ssl, count)
    }
}
