public import HoldfastHTTP
import COpenSSL
import HoldfastBytes

/// The server side of the opening handshake (RFC 6455 §4.2, RFC 7692 §7).
///
/// Pure: it reads an ``HTTPRequest`` and returns either the `101` response bytes with the agreed settings or a
/// typed refusal; the caller writes the bytes.
public enum WebSocketHandshake {
    /// The GUID RFC 6455 appends to the client's key before hashing.
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    private static var acceptGUIDLiteral: StaticString { "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" }

    /// The fixed start of every `101` answer, up to the accept key.
    private static var responsePrefix: StaticString {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
    }
    /// CR LF as the 2-byte word that stores as them.
    private static var crlf: UInt16 { UInt16(0x0A0D).littleEndian }
    /// A canonical key is 24 symbols, so the hashed input is 60 bytes and its accept key 28.
    private static let keyLength = 24
    private static let acceptKeyLength = 28

    /// Validates an upgrade request and negotiates subprotocol and permessage-deflate.
    ///
    /// - Parameters:
    ///   - request: the parsed upgrade request.
    ///   - deflate: the permessage-deflate settings the server accepts; the first acceptable offer wins.
    ///   - selectSubprotocol: receives the client's offered subprotocols (empty when none) and returns the
    ///     chosen one or nil; it is only called when the client offered at least one.
    /// - Returns: the accepted handshake with its `101` bytes, or the refusal with its HTTP status.
    public static func negotiate(
        request: HTTPRequest,
        deflate: PerMessageDeflateConfiguration,
        selectSubprotocol: ([Substring]) -> Substring?
    ) -> Result<WebSocketHandshakeAccepted, WebSocketHandshakeError> {
        request.withHeadView { head in
            agree(to: head, deflate: deflate, selectSubprotocol: selectSubprotocol).map {
                WebSocketHandshakeAccepted(subprotocol: $0.subprotocol, deflate: $0.deflate, responseBytes: $0.responseBytes)
            }
        }
    }

    /// ``negotiate(request:deflate:selectSubprotocol:)`` over a head read in place: the agreement holds the accept
    /// key's digest, and its answer is written where the caller wants it (``WebSocketHandshakeAgreement``), so an
    /// accepted upgrade allocates nothing here unless it negotiates a subprotocol or compression.
    public static func agree(
        to head: HTTPHeadView,
        deflate: PerMessageDeflateConfiguration,
        selectSubprotocol: ([Substring]) -> Substring?
    ) -> Result<WebSocketHandshakeAgreement, WebSocketHandshakeError> {
        // Fields are read as bytes in the head, found through the parser's index of known fields; a string is made
        // only for a refusal's message.
        guard head.hasMethod("GET") else { return .failure(.methodNotAllowed(head.method)) }
        guard head.minorVersion >= 1 else { return .failure(.unsupportedHTTPVersion) }
        guard head.headerContainsToken(.upgrade, "websocket") else { return .failure(.missingUpgradeHeader) }
        guard head.headerContainsToken(.connection, "upgrade") else { return .failure(.missingConnectionUpgrade) }
        let version = head.headerBytes(.secWebSocketVersion)
        guard let version, version.count == 2, version[0] == UInt8(ascii: "1"), version[1] == UInt8(ascii: "3") else {
            return .failure(.unsupportedVersion(version.map { String(decoding: $0, as: UTF8.self) }))
        }
        guard let key = head.headerBytes(.secWebSocketKey) else { return .failure(.missingKey) }
        guard isValidKey(key) else { return .failure(.invalidKey) }

        let offered = head.hasHeader(.secWebSocketProtocol) ? head.headerValues(.secWebSocketProtocol) : []
        let subprotocol = offered.isEmpty ? nil : selectSubprotocol(offered).map(String.init)
        var parameters: PerMessageDeflateParameters?
        if deflate.enabled && head.hasHeader(.secWebSocketExtensions) {
            for offer in head.headerValues(.secWebSocketExtensions) {
                if let agreed = negotiateDeflate(offer: offer, configuration: deflate) {
                    parameters = agreed
                    break
                }
            }
        }
        var agreement = WebSocketHandshakeAgreement(subprotocol: subprotocol, deflate: parameters)
        withUnsafeMutableBytes(of: &agreement.digest) { digest($0.assumingMemoryBound(to: UInt8.self), for: key) }
        return .success(agreement)
    }

    /// Writes the `101` answer: the fixed template, the accept key base64-encoded straight into it from the digest,
    /// then the negotiated fields. `buffer` holds at least ``WebSocketHandshakeAgreement/responseCapacity`` bytes.
    static func writeResponse(
        _ agreement: WebSocketHandshakeAgreement, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        var count = 0
        func append(_ bytes: UnsafeRawBufferPointer) {
            UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + bytes.count)]).copyMemory(from: bytes)
            count += bytes.count
        }
        // The fixed part from a constant (no array behind a lazily initialised global), the key encoded after it.
        append(UnsafeRawBufferPointer(start: responsePrefix.utf8Start, count: responsePrefix.utf8CodeUnitCount))
        withUnsafeBytes(of: agreement.digest) { digest in
            let encoded = UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + acceptKeyLength)])
            encodeDigest(digest.assumingMemoryBound(to: UInt8.self), into: encoded.assumingMemoryBound(to: UInt8.self))
        }
        count += acceptKeyLength
        buffer.storeBytes(of: crlf, toByteOffset: count, as: UInt16.self)
        count += 2
        if let subprotocol = agreement.subprotocol {
            Array("Sec-WebSocket-Protocol: \(subprotocol)\r\n".utf8).withUnsafeBytes(append)
        }
        if let extensions = agreement.deflate?.headerValue {
            Array("Sec-WebSocket-Extensions: \(extensions)\r\n".utf8).withUnsafeBytes(append)
        }
        buffer.storeBytes(of: crlf, toByteOffset: count, as: UInt16.self)
        return count + 2
    }

    /// How many bytes ``writeResponse(_:into:)`` may write for `agreement`.
    static func responseCapacity(_ agreement: WebSocketHandshakeAgreement) -> Int {
        responsePrefix.utf8CodeUnitCount + acceptKeyLength + 4 + (agreement.subprotocol.map { $0.utf8.count + 26 } ?? 0)
            + (agreement.deflate.map { $0.headerValue.utf8.count + 28 } ?? 0)
    }

    /// The `Sec-WebSocket-Accept` value for a client key: base64(SHA-1(key + GUID)).
    public static func acceptKey(for key: String) -> String {
        var key = key
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: acceptKeyLength) { encoded in
            key.withUTF8 { writeAcceptKey(for: $0, into: encoded) }
            return String(decoding: encoded, as: UTF8.self)
        }
    }

    /// Where the accept key lies in a `101` answer made by ``negotiate(request:deflate:selectSubprotocol:)``.
    static var acceptKeyRange: Range<Int> {
        responsePrefix.utf8CodeUnitCount..<(responsePrefix.utf8CodeUnitCount + acceptKeyLength)
    }

    /// Writes base64(SHA-1(key + GUID)), 28 bytes, to `encoded`.
    private static func writeAcceptKey(
        for keyBytes: UnsafeBufferPointer<UInt8>, into encoded: UnsafeMutableBufferPointer<UInt8>
    ) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Int(SHA_DIGEST_LENGTH)) { digestBytes in
            digest(digestBytes, for: keyBytes)
            encodeDigest(UnsafeBufferPointer(digestBytes), into: encoded)
        }
    }

    /// SHA-1(key + GUID), 20 bytes, into `digest`: libcrypto's low-level SHA-1 on a stack context (without the
    /// per-call algorithm lookup of OpenSSL 3's `SHA1()`); the shim lays the key and the GUID out in the padded
    /// blocks.
    private static func digest(_ digest: UnsafeMutableBufferPointer<UInt8>, for keyBytes: UnsafeBufferPointer<UInt8>) {
        // The GUID from a constant, not from an array behind a lazily initialised global.
        let guid = acceptGUIDLiteral
        holdfast_sha1(keyBytes.baseAddress, keyBytes.count, guid.utf8Start, guid.utf8CodeUnitCount, digest.baseAddress)
    }

    /// Standard base64 of the 20-byte digest: six full groups, then two bytes as three symbols and `=`.
    private static func encodeDigest(
        _ digest: UnsafeBufferPointer<UInt8>, into encoded: UnsafeMutableBufferPointer<UInt8>
    ) {
        // The alphabet read from a constant, not from an array behind a lazily initialised global.
        let symbols = base64Alphabet.utf8Start
        var out = 0
        var index = 0
        while index + 3 <= digest.count {
            let group = UInt32(digest[index]) << 16 | UInt32(digest[index + 1]) << 8 | UInt32(digest[index + 2])
            encoded[out] = symbols[Int(group >> 18 & 0x3F)]
            encoded[out + 1] = symbols[Int(group >> 12 & 0x3F)]
            encoded[out + 2] = symbols[Int(group >> 6 & 0x3F)]
            encoded[out + 3] = symbols[Int(group & 0x3F)]
            out += 4
            index += 3
        }
        let group = UInt32(digest[index]) << 16 | UInt32(digest[index + 1]) << 8
        encoded[out] = symbols[Int(group >> 18 & 0x3F)]
        encoded[out + 1] = symbols[Int(group >> 12 & 0x3F)]
        encoded[out + 2] = symbols[Int(group >> 6 & 0x3F)]
        encoded[out + 3] = UInt8(ascii: "=")
    }

    private static var base64Alphabet: StaticString {
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    }

    /// Whether the key is the canonical base64 form of exactly 16 bytes (22 symbols, then `==`).
    static func isValidKey(_ key: String) -> Bool {
        var key = key
        return key.withUTF8(isValidKey)
    }

    /// Whether the key's bytes are the canonical base64 form of exactly 16 bytes.
    static func isValidKey(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == keyLength, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else {
            return false
        }
        // The 22 symbols as three words, the last overlapping the second.
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        for offset in stride(from: 0, through: 16, by: 8) {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: min(offset, 14), as: UInt64.self))
            guard areBase64Symbols(word) else { return false }
        }
        // The last symbol carries only 2 significant bits; the rest must be zero in canonical base64: values 0, 16,
        // 32 and 48 are `A`, `Q`, `g` and `w`.
        let last = bytes[21]
        return last == UInt8(ascii: "A") || last == UInt8(ascii: "Q") || last == UInt8(ascii: "g")
            || last == UInt8(ascii: "w")
    }

    /// Whether all eight bytes of `word` are symbols of the standard base64 alphabet, checked together.
    @inline(__always)
    static func areBase64Symbols(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let heptets = word & ~highs
        // Per byte, the high bit of heptet + (0x80 - low) is set from `low` up, that of heptet + (0x7F - high) above
        // `high`; no carry leaves a byte.
        func within(_ low: UInt64, _ high: UInt64) -> UInt64 {
            (heptets &+ ones &* (0x80 - low)) & ~(heptets &+ ones &* (0x7F - high))
        }
        // The high bit of each byte equal to `byte` (exact).
        func equal(_ byte: UInt64) -> UInt64 {
            let difference = heptets ^ (ones &* byte)
            return ~(((difference & ~highs) &+ ~highs) | difference | ~highs)
        }
        let symbols = within(0x41, 0x5A) | within(0x61, 0x7A) | within(0x30, 0x39) | equal(0x2B) | equal(0x2F)
        // Bytes with the high bit set are not ASCII, so never symbols.
        return symbols & ~word & highs == highs
    }
}

/// A successful handshake read in place: what was agreed, and the accept key's digest, from which the `101` is
/// written where the caller wants it (on the stack, for an answer written at once).
public struct WebSocketHandshakeAgreement: Sendable {
    /// The chosen subprotocol, if any.
    public var subprotocol: String?
    /// The agreed permessage-deflate parameters, or nil when the connection runs uncompressed.
    public var deflate: PerMessageDeflateParameters?
    /// SHA-1 of the client's key and the GUID (20 bytes).
    var digest: (UInt64, UInt64, UInt32) = (0, 0, 0)

    init(subprotocol: String?, deflate: PerMessageDeflateParameters?) {
        self.subprotocol = subprotocol
        self.deflate = deflate
    }

    /// The most bytes ``writeResponse(into:)`` writes.
    public var responseCapacity: Int { WebSocketHandshake.responseCapacity(self) }

    /// Writes the complete `101 Switching Protocols` answer to `buffer` (at least ``responseCapacity`` bytes) and
    /// returns its length.
    public func writeResponse(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        WebSocketHandshake.writeResponse(self, into: buffer)
    }

    /// The answer as an array.
    public var responseBytes: [UInt8] {
        [UInt8](unsafeUninitializedCapacity: responseCapacity) { buffer, count in
            count = writeResponse(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }
}

/// A successful handshake: what to send and what was agreed.
public struct WebSocketHandshakeAccepted: Sendable, Hashable {
    /// The `Sec-WebSocket-Accept` value, read from the response when asked (the handshake itself needs no
    /// string of it).
    public var acceptKey: String {
        String(decoding: responseBytes[WebSocketHandshake.acceptKeyRange], as: UTF8.self)
    }
    /// The chosen subprotocol, if any.
    public var subprotocol: String?
    /// The agreed permessage-deflate parameters, or nil when the connection runs uncompressed.
    public var deflate: PerMessageDeflateParameters?
    /// The complete `101 Switching Protocols` response.
    public var responseBytes: [UInt8]

    /// An accepted handshake from its parts; `responseBytes` is the answer ``WebSocketHandshake`` made.
    init(subprotocol: String?, deflate: PerMessageDeflateParameters?, responseBytes: [UInt8]) {
        self.subprotocol = subprotocol
        self.deflate = deflate
        self.responseBytes = responseBytes
    }
}
