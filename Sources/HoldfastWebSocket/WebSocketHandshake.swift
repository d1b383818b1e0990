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
    private static let acceptGUIDBytes = Array(acceptGUID.utf8)

    /// The fixed start of every `101` answer, up to the accept key.
    private static let responsePrefix = Array(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ".utf8)
    private static let crlf: [UInt8] = [0x0D, 0x0A]
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
    /// - Returns: the accepted handshake, or the refusal with its HTTP status.
    public static func negotiate(
        request: HTTPRequest,
        deflate: PerMessageDeflateConfiguration,
        selectSubprotocol: ([Substring]) -> Substring?
    ) -> Result<WebSocketHandshakeAccepted, WebSocketHandshakeError> {
        // Fields are read as bytes in the request's head, found through the parser's index of known fields; a
        // string is made only for a refusal's message.
        guard request.hasMethod("GET") else { return .failure(.methodNotAllowed(request.method)) }
        guard request.minorVersion >= 1 else { return .failure(.unsupportedHTTPVersion) }
        guard request.headerContainsToken(.upgrade, "websocket") else { return .failure(.missingUpgradeHeader) }
        guard request.headerContainsToken(.connection, "upgrade") else { return .failure(.missingConnectionUpgrade) }
        let version = request.headerBytes(.secWebSocketVersion)
        guard let version, version.elementsEqual("13".utf8) else {
            return .failure(.unsupportedVersion(version.map { String(decoding: $0, as: UTF8.self) }))
        }
        guard let key = request.headerBytes(.secWebSocketKey) else { return .failure(.missingKey) }
        guard key.withUnsafeBufferPointer(isValidKey) else { return .failure(.invalidKey) }

        let offered = request.headerValues(.secWebSocketProtocol)
        let subprotocol = offered.isEmpty ? nil : selectSubprotocol(offered).map(String.init)
        var parameters: PerMessageDeflateParameters?
        if deflate.enabled {
            for offer in request.headerValues(.secWebSocketExtensions) {
                if let agreed = negotiateDeflate(offer: offer, configuration: deflate) {
                    parameters = agreed
                    break
                }
            }
        }

        // The answer is written as bytes from a fixed template, the accept key hashed and encoded straight into
        // it: every connection makes one, so it costs one array instead of a string built piece by piece.
        let extensions = parameters?.headerValue
        var response: [UInt8] = []
        response.reserveCapacity(
            responsePrefix.count + acceptKeyLength + 4
                + (subprotocol.map { $0.utf8.count + 26 } ?? 0) + (extensions.map { $0.utf8.count + 28 } ?? 0))
        response.append(contentsOf: responsePrefix)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: acceptKeyLength) { encoded in
            key.withUnsafeBufferPointer { writeAcceptKey(for: $0, into: encoded) }
            response.append(contentsOf: encoded)
        }
        response.append(contentsOf: crlf)
        if let subprotocol { response.append(contentsOf: "Sec-WebSocket-Protocol: \(subprotocol)\r\n".utf8) }
        if let extensions { response.append(contentsOf: "Sec-WebSocket-Extensions: \(extensions)\r\n".utf8) }
        response.append(contentsOf: crlf)
        return .success(
            WebSocketHandshakeAccepted(subprotocol: subprotocol, deflate: parameters, responseBytes: response)
        )
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
    static let acceptKeyRange = responsePrefix.count..<(responsePrefix.count + acceptKeyLength)

    /// Writes base64(SHA-1(key + GUID)), 28 bytes, to `encoded`: hashed (libcrypto's low-level SHA-1, without
    /// the per-call algorithm lookup of OpenSSL 3's `SHA1()`) and encoded over stack buffers.
    private static func writeAcceptKey(
        for keyBytes: UnsafeBufferPointer<UInt8>, into encoded: UnsafeMutableBufferPointer<UInt8>
    ) {
        let inputLength = keyBytes.count + acceptGUIDBytes.count
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: inputLength + Int(SHA_DIGEST_LENGTH)) { buffer in
            let input = UnsafeMutableBufferPointer(rebasing: buffer[..<inputLength])
            _ = UnsafeMutableBufferPointer(rebasing: input[..<keyBytes.count]).initialize(fromContentsOf: keyBytes)
            acceptGUIDBytes.withUnsafeBufferPointer { guid in
                _ = UnsafeMutableBufferPointer(rebasing: input[keyBytes.count...]).initialize(fromContentsOf: guid)
            }
            let digest = UnsafeMutableBufferPointer(rebasing: buffer[inputLength...])
            holdfast_sha1(input.baseAddress, input.count, digest.baseAddress)
            encodeDigest(UnsafeBufferPointer(digest), into: encoded)
        }
    }

    /// Standard base64 of the 20-byte digest: six full groups, then two bytes as three symbols and `=`.
    private static func encodeDigest(
        _ digest: UnsafeBufferPointer<UInt8>, into encoded: UnsafeMutableBufferPointer<UInt8>
    ) {
        base64Symbols.withUnsafeBufferPointer { symbols in
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
    }

    private static let base64Symbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

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
        for index in 0..<22 where !isBase64Symbol(bytes[index]) { return false }
        // The last symbol carries only 2 significant bits; the rest must be zero in canonical base64.
        guard let last = Base64.value(of: bytes[21]) else { return false }
        return last & 0x0F == 0
    }

    /// Whether `byte` is a symbol of the standard base64 alphabet.
    private static func isBase64Symbol(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            true
        default:
            false
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
