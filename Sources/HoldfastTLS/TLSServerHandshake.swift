internal import COpenSSL

/// One connection's server handshake in progress. Owns an `SSL*` and its two memory BIOs and frees them when
/// the handshake completes or fails (or on deinit).
///
/// OpenSSL is fed exactly one TLS record per `SSL_do_handshake` call, so it can never read past the client
/// Finished: whatever follows is application data that only our ``TLSRecordLayer`` sees. Not thread-safe.
public final class TLSServerHandshake {
    /// Largest record the handshake accepts: 2^14 plus the TLS 1.2 ciphertext expansion allowance.
    static let maximumRecordLength = 16384 + 2048

    private let context: TLSServerContext
    private var ssl: OpaquePointer?
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer
    /// TLS 1.3 application traffic secrets, captured by the keylog callback during `SSL_do_handshake`.
    private var clientTrafficSecret: [UInt8] = []
    private var serverTrafficSecret: [UInt8] = []
    /// TLS 1.2 sequence numbers: records each side sent after its change_cipher_spec, counted as they pass.
    private var clientSentCCS = false
    private var serverSentCCS = false
    private var clientRecordsAfterCCS: UInt64 = 0
    private var serverRecordsAfterCCS: UInt64 = 0
    /// Records OpenSSL wrote during the latest `SSL_do_handshake`: the TLS 1.3 write sequence at the switch.
    private var recordsWrittenByLastCall: UInt64 = 0

    /// Creates the per-connection OpenSSL state in server mode.
    ///
    /// - Throws: ``TLSError/internalError(_:)`` if OpenSSL cannot allocate it.
    public init(context: TLSServerContext) throws(TLSError) {
        self.context = context
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else { throw .internalError(openSSLErrorDescription()) }
        guard let readBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw .internalError("BIO_new failed")
        }
        guard let writeBIO = BIO_new(BIO_s_mem()) else {
            BIO_free(readBIO)
            SSL_free(ssl)
            throw .internalError("BIO_new failed")
        }
        // An empty read BIO means "wait for more", not end of file.
        _ = holdfast_BIO_set_mem_eof_return(readBIO, -1)
        SSL_set_bio(ssl, readBIO, writeBIO)
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        // Unretained: the keylog callback only runs inside SSL_do_handshake, called from a method of self.
        _ = holdfast_SSL_set_app_data(ssl, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        release()
    }

    /// Consumes as many complete TLS records from `input` as it can, passing them to OpenSSL one at a time, and
    /// appends everything OpenSSL wants to send to `output`.
    ///
    /// - Returns: how many bytes of `input` were consumed, and the progress. On `.established` the bytes after
    ///   `consumed` are already application records for the record layer. On `.failed`, `output` holds any
    ///   alert; the caller flushes it and closes.
    public func advance(input: UnsafeRawBufferPointer, output: inout [UInt8]) -> TLSHandshakeProgress {
        guard let ssl else { return .failed(.closed, consumed: 0) }
        var offset = 0
        while input.count - offset >= 5 {
            let type = input[offset]
            let length = Int(input[offset + 3]) << 8 | Int(input[offset + 4])
            guard (ContentType.changeCipherSpec...ContentType.applicationData).contains(type),
                  input[offset + 1] == 3
            else { return reject(.unexpectedMessage, consumed: offset, output: &output) }
            guard length <= Self.maximumRecordLength else {
                return reject(.recordOverflow, consumed: offset, output: &output)
            }
            guard input.count - offset - 5 >= length else { break }
            let record = UnsafeRawBufferPointer(rebasing: input[offset..<offset + 5 + length])
            offset += record.count
            countClientRecord(type: type)
            guard BIO_write(readBIO, record.baseAddress, Int32(record.count)) == Int32(record.count) else {
                return reject(.internalError("BIO_write failed"), consumed: offset, output: &output)
            }
            ERR_clear_error()
            let status = SSL_do_handshake(ssl)
            drainOutput(into: &output)
            if status == 1 { return establish(ssl, consumed: offset) }
            let error = SSL_get_error(ssl, status)
            guard error == SSL_ERROR_WANT_READ else {
                let reason = ERR_peek_error() == 0 ? "SSL_get_error \(error)" : openSSLErrorDescription()
                release()
                return .failed(.handshakeFailed(reason), consumed: offset)
            }
        }
        return .needMoreInput(consumed: offset)
    }

    /// Called by the context's keylog callback with one NSS key log line.
    func recordKeyLogLine(_ line: UnsafePointer<CChar>) {
        // Parsed from the C string directly so the secret never lands in an unwipeable String.
        let bytes = UnsafeRawBufferPointer(start: line, count: strlen(line))
        let fields = bytes.split(separator: UInt8(ascii: " "), maxSplits: 2)
        guard fields.count == 3, let secret = decodeHex(fields[2]) else { return }
        switch String(decoding: fields[0], as: UTF8.self) {
        case "CLIENT_TRAFFIC_SECRET_0": clientTrafficSecret = secret
        case "SERVER_TRAFFIC_SECRET_0": serverTrafficSecret = secret
        default: break
        }
    }

    private func countClientRecord(type: UInt8) {
        if type == ContentType.changeCipherSpec {
            clientSentCCS = true
        } else if clientSentCCS {
            clientRecordsAfterCCS += 1
        }
    }

    /// Moves OpenSSL's output to `output`, counting the records as they pass (OpenSSL writes whole records).
    private func drainOutput(into output: inout [UInt8]) {
        let start = output.count
        while holdfast_BIO_ctrl_pending(writeBIO) > 0 {
            let pending = holdfast_BIO_ctrl_pending(writeBIO)
            let before = output.count
            output.append(contentsOf: repeatElement(0, count: pending))
            let read = output.withUnsafeMutableBytes { buffer in
                BIO_read(writeBIO, buffer.baseAddress.map { $0 + before }, Int32(pending))
            }
            output.removeSubrange((before + Int(max(read, 0)))...)
            if read <= 0 { break }
        }
        recordsWrittenByLastCall = 0
        var offset = start
        while output.count - offset >= 5 {
            if output[offset] == ContentType.changeCipherSpec {
                serverSentCCS = true
            } else if serverSentCCS {
                serverRecordsAfterCCS += 1
            }
            recordsWrittenByLastCall += 1
            offset += 5 + (Int(output[offset + 3]) << 8 | Int(output[offset + 4]))
        }
    }

    /// Copies out what the record layer needs, then frees OpenSSL's state for this connection.
    private func establish(_ ssl: OpaquePointer, consumed: Int) -> TLSHandshakeProgress {
        defer { release() }
        guard holdfast_BIO_ctrl_pending(readBIO) == 0 else {
            return .failed(.handshakeFailed("OpenSSL left input unread at the end of the handshake"),
                           consumed: consumed)
        }
        guard let cipher = SSL_get_current_cipher(ssl),
              let suite = CipherSuite(rawValue: SSL_CIPHER_get_protocol_id(cipher)),
              let session = SSL_get_session(ssl)
        else { return .failed(.handshakeFailed("negotiated an unsupported cipher suite"), consumed: consumed) }
        let negotiatedVersion: TLSVersion = SSL_version(ssl) == TLS1_3_VERSION ? .v1_3 : .v1_2
        guard suite.version == negotiatedVersion else {
            return .failed(.handshakeFailed("cipher suite does not match the protocol version"), consumed: consumed)
        }
        let fragmentCode = SSL_SESSION_get_max_fragment_length(session)
        let maxFragment = (1...4).contains(fragmentCode) ? 512 << (Int(fragmentCode) - 1) : 16384
        var alpnData: UnsafePointer<UInt8>?
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpnData, &alpnLength)
        let alpn = alpnData.map {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(alpnLength)), as: UTF8.self)
        }
        do throws(TLSError) {
            let layer = suite.version == .v1_3
                ? try tls13RecordLayer(suite: suite, maxFragment: maxFragment)
                : try tls12RecordLayer(ssl, session: session, suite: suite, maxFragment: maxFragment)
            return .established(layer, consumed: consumed, negotiatedALPN: alpn.flatMap { $0.isEmpty ? nil : $0 })
        } catch {
            return .failed(error, consumed: consumed)
        }
    }

    private func tls13RecordLayer(suite: CipherSuite, maxFragment: Int) throws(TLSError) -> TLSRecordLayer {
        guard clientTrafficSecret.count == suite.hashLength, serverTrafficSecret.count == suite.hashLength else {
            throw .handshakeFailed("traffic secrets missing from the key log")
        }
        return try TLSRecordLayer(
            suite: suite, readMaterial: clientTrafficSecret, writeMaterial: serverTrafficSecret,
            readSequence: 0, writeSequence: recordsWrittenByLastCall, maxFragmentLength: maxFragment)
    }

    private func tls12RecordLayer(
        _ ssl: OpaquePointer, session: OpaquePointer, suite: CipherSuite, maxFragment: Int
    ) throws(TLSError) -> TLSRecordLayer {
        var master = [UInt8](repeating: 0, count: 48)
        var clientRandom = [UInt8](repeating: 0, count: 32)
        var serverRandom = [UInt8](repeating: 0, count: 32)
        defer { wipe(&master) }
        guard SSL_SESSION_get_master_key(session, &master, 48) == 48,
              SSL_get_client_random(ssl, &clientRandom, 32) == 32,
              SSL_get_server_random(ssl, &serverRandom, 32) == 32
        else { throw .handshakeFailed("cannot read the TLS 1.2 master secret") }
        let keyLength = suite.aead.keyLength
        let ivLength = suite.fixedIVLength
        guard var block = KeySchedule.tls12KeyBlock(
            master: master, clientRandom: clientRandom, serverRandom: serverRandom,
            length: 2 * (keyLength + ivLength), suite: suite)
        else { throw .internalError("TLS 1.2 key expansion failed") }
        // key_block = client_key | server_key | client_iv | server_iv (no MAC keys for AEAD suites).
        var clientMaterial = Array(block[0..<keyLength]) + block[2 * keyLength..<2 * keyLength + ivLength]
        var serverMaterial = Array(block[keyLength..<2 * keyLength]) + block[(2 * keyLength + ivLength)...]
        defer {
            wipe(&block)
            wipe(&clientMaterial)
            wipe(&serverMaterial)
        }
        return try TLSRecordLayer(
            suite: suite, readMaterial: clientMaterial, writeMaterial: serverMaterial,
            readSequence: clientRecordsAfterCCS, writeSequence: serverRecordsAfterCCS, maxFragmentLength: maxFragment)
    }

    /// Rejects a malformed record header ourselves, with a plaintext fatal alert: OpenSSL never saw the record.
    private func reject(_ error: TLSError, consumed: Int, output: inout [UInt8]) -> TLSHandshakeProgress {
        if let code = error.alertDescription { output += [ContentType.alert, 3, 3, 0, 2, 2, code] }
        release()
        return .failed(error, consumed: consumed)
    }

    /// Frees OpenSSL's state (SSL_free also frees both BIOs) and wipes captured secrets.
    private func release() {
        if let ssl {
            SSL_free(ssl)
            self.ssl = nil
        }
        wipe(&clientTrafficSecret)
        wipe(&serverTrafficSecret)
    }
}

/// Progress of a ``TLSServerHandshake``.
public enum TLSHandshakeProgress {
    /// The handshake goes on; keep `input[consumed...]` and call again with more bytes.
    case needMoreInput(consumed: Int)
    /// The handshake is done; bytes of input after `consumed` belong to the record layer.
    case established(TLSRecordLayer, consumed: Int, negotiatedALPN: String?)
    /// The handshake failed; flush `output` (it may hold an alert) and close.
    case failed(TLSError, consumed: Int)
}

/// Decodes lowercase or uppercase hex; nil on any other character or an odd length.
func decodeHex<Bytes: Collection>(_ text: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
    guard text.count % 2 == 0 else { return nil }
    func nibble(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.count / 2)
    var iterator = text.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        guard let highNibble = nibble(high), let lowNibble = nibble(low) else { return nil }
        bytes.append(highNibble << 4 | lowNibble)
    }
    return bytes
}
