/// The record layer of an established TLS connection, after OpenSSL is gone: protocol version, cipher suite,
/// per-direction keys and sequence numbers, and the negotiated maximum fragment length.
///
/// Its whole state serializes with ``exportState()`` so a connection can move to another process.
///
/// A class, so a connection holds one pointer to it: plaintext connections, the great majority, pay 8 bytes for
/// the optional rather than the 72 an inline layer took in every connection object.
///
/// Memory per TLS connection (measured with OpenSSL 3.0 on x86-64): the object is about 80 bytes; each
/// direction's ``TrafficKeys`` is about 180 bytes of Swift objects and arrays plus an `EVP_CIPHER_CTX` of about
/// 1,170 bytes (AES-GCM) or 1,060 bytes (ChaCha20-Poly1305) inside libcrypto. About 2.7 KB in all, so roughly
/// 50 MB for 19,000 idle connections; the cipher contexts dominate.
///
/// Not thread-safe: use one record layer from one thread at a time. There is one instance per connection (a
/// reference, never a copy), so a sequence number is never reused under the same key, which would break AES-GCM.
public final class TLSRecordLayer {
    /// Consecutive KeyUpdates, or consecutive empty records and ignored alerts, tolerated without application
    /// data in between; more is a CPU-burning flood.
    static let floodLimit: UInt8 = 32
    /// TLS 1.3: we rotate our write key at this many records, well below AES-GCM's 2^24.5 limit.
    static let keyUpdateThreshold: UInt64 = 1 << 23

    let suite: CipherSuite
    var reader: TrafficKeys
    var writer: TrafficKeys
    var readSequence: UInt64
    var writeSequence: UInt64
    /// Largest plaintext per record we send: min(2^14, the negotiated max_fragment_length).
    let maxFragmentLength: Int
    /// TLS 1.3: the start of a KeyUpdate message split across records (at most 4 bytes, almost always empty).
    var pendingHandshake: [UInt8] = []
    var keyUpdatesInRow: UInt8 = 0
    var emptyRecordsInRow: UInt8 = 0
    /// Set once we failed, sent close_notify in reply, or libcrypto broke; nothing more is processed.
    var isClosed = false
    /// The connection's decrypted bytes not consumed yet. Kept here rather than by the connection, so that
    /// plaintext connections, which have no record layer, do not carry an empty buffer each.
    public var plainInbound: [UInt8] = []
    /// The connection's application bytes waiting to be sealed (see ``plainInbound``).
    public var plainOutbound: [UInt8] = []

    /// The negotiated protocol version.
    public var version: TLSVersion { suite.version }

    /// The negotiated cipher suite's IANA name, e.g. "TLS_AES_128_GCM_SHA256".
    public var cipherSuiteName: String { suite.name }

    /// Releases the keyed cipher contexts of both directions (about 2.2 KiB), and an empty ``plainOutbound``'s
    /// storage; call it when the connection has been idle for a while. The next record re-creates the contexts
    /// from the keys, so nothing else changes.
    public func releaseIdleMemory() {
        reader.releaseContext()
        writer.releaseContext()
        if plainOutbound.isEmpty && plainOutbound.capacity > 0 { plainOutbound = [] }
    }

    /// Builds a record layer from raw per-direction material: traffic secrets for TLS 1.3, key ‖ IV for 1.2.
    init(
        suite: CipherSuite, readMaterial: [UInt8], writeMaterial: [UInt8],
        readSequence: UInt64, writeSequence: UInt64, maxFragmentLength: Int = 16384
    ) throws(TLSError) {
        guard let reader = TrafficKeys(suite: suite, material: readMaterial, encrypting: false),
              let writer = TrafficKeys(suite: suite, material: writeMaterial, encrypting: true)
        else { throw .internalError("cannot set up \(suite.name) keys") }
        self.suite = suite
        self.reader = reader
        self.writer = writer
        self.readSequence = readSequence
        self.writeSequence = writeSequence
        self.maxFragmentLength = min(maxFragmentLength, 16384)
    }

    /// Decrypts every complete record in `input` in place, appends application-data plaintext to `plaintext`,
    /// and appends anything we must send (KeyUpdate answer, close_notify reply, alert) to `output`.
    ///
    /// - Returns: the bytes consumed (a trailing partial record is left for the caller to keep and pass again
    ///   with more bytes) and what happened. On `.closeNotify` or `.failed` the caller flushes `output` and
    ///   closes; bytes after `consumed` are then to be ignored.
    public func open(
        _ input: UnsafeMutableRawBufferPointer, plaintext: inout [UInt8], output: inout [UInt8]
    ) -> TLSReadOutcome {
        guard !isClosed else { return TLSReadOutcome(consumed: 0, event: .failed(.closed)) }
        let lengthLimit = version == .v1_3 ? 16384 + 256 : 16384 + 2048
        var offset = 0
        while input.count - offset >= 5 {
            let type = input[offset]
            let length = Int(input[offset + 3]) << 8 | Int(input[offset + 4])
            guard input[offset + 1] == 3 else { return fail(.decodeError, consumed: offset, output: &output) }
            guard length <= lengthLimit else { return fail(.recordOverflow, consumed: offset, output: &output) }
            guard input.count - offset - 5 >= length else { break }
            let header = UnsafeRawBufferPointer(rebasing: input[offset..<offset + 5])
            let body = UnsafeMutableRawBufferPointer(rebasing: input[offset + 5..<offset + 5 + length])
            offset += 5 + length
            let step = version == .v1_3
                ? openTLS13(type: type, header: header, body: body, plaintext: &plaintext, output: &output)
                : openTLS12(type: type, body: body, plaintext: &plaintext, output: &output)
            switch step {
            case .next:
                continue
            case .closeNotify:
                sealCloseNotify(into: &output)
                isClosed = true
                return TLSReadOutcome(consumed: offset, event: .closeNotify)
            case .failed(let error):
                return fail(error, consumed: offset, output: &output)
            }
        }
        return TLSReadOutcome(consumed: offset, event: .none)
    }

    /// Appends an encrypted close_notify alert.
    public func sealCloseNotify(into output: inout [UInt8]) {
        sealAlert(level: 1, description: AlertCode.closeNotify, into: &output)
    }

    /// What one record asked for.
    enum Step {
        case next, closeNotify, failed(TLSError)
    }

    /// Marks the layer closed and appends the fatal alert the error calls for.
    private func fail(_ error: TLSError, consumed: Int, output: inout [UInt8]) -> TLSReadOutcome {
        if let code = error.alertDescription { sealAlert(level: 2, description: code, into: &output) }
        isClosed = true
        return TLSReadOutcome(consumed: consumed, event: .failed(error))
    }

    /// Counts a record that carried no application data and says whether the flood limit is passed.
    func countEmptyRecord() -> Bool {
        emptyRecordsInRow &+= 1
        return emptyRecordsInRow > Self.floodLimit
    }

    /// Application data arrived: the flood counters start again.
    func resetFloodCounters() {
        emptyRecordsInRow = 0
        keyUpdatesInRow = 0
    }
}

/// What ``TLSRecordLayer/open(_:plaintext:output:)`` did.
public struct TLSReadOutcome {
    /// Bytes of input consumed; the rest is a partial record (or, after a terminal event, to be ignored).
    public var consumed: Int
    /// Whether the connection goes on.
    public var event: Event

    /// Creates an outcome.
    public init(consumed: Int, event: Event) {
        self.consumed = consumed
        self.event = event
    }

    /// The connection-level result of a read.
    public enum Event: Equatable {
        /// Keep going.
        case none
        /// The peer sent close_notify; our close_notify is already appended to `output`. Flush and close.
        case closeNotify
        /// A fatal fault; the alert (if any) is appended to `output`. Flush and close.
        case failed(TLSError)
    }
}
