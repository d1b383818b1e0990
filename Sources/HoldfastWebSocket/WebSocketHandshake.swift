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
        guard request.method == "GET" else { return .failure(.methodNotAllowed(request.method)) }
        guard request.minorVersion >= 1 else { return .failure(.unsupportedHTTPVersion) }
        guard request.headerValues("Upgrade").contains(where: { $0.lowercased() == "websocket" }) else {
            return .failure(.missingUpgradeHeader)
        }
        guard request.headerValues("Connection").contains(where: { $0.lowercased() == "upgrade" }) else {
            return .failure(.missingConnectionUpgrade)
        }
        let version = request.header("Sec-WebSocket-Version")
        guard version == "13" else { return .failure(.unsupportedVersion(version)) }
        guard let key = request.header("Sec-WebSocket-Key") else { return .failure(.missingKey) }
        guard isValidKey(key) else { return .failure(.invalidKey) }

        let offered = request.headerValues("Sec-WebSocket-Protocol")
        let subprotocol = offered.isEmpty ? nil : selectSubprotocol(offered).map(String.init)
        var parameters: PerMessageDeflateParameters?
        if deflate.enabled {
            for offer in request.headerValues("Sec-WebSocket-Extensions") {
                if let agreed = negotiateDeflate(offer: offer, configuration: deflate) {
                    parameters = agreed
                    break
                }
            }
        }

        let acceptKey = self.acceptKey(for: key)
        var head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Accept: \(acceptKey)\r\n"
        if let subprotocol { head += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        if let parameters { head += "Sec-WebSocket-Extensions: \(parameters.headerValue)\r\n" }
        head += "\r\n"
        return .success(
            WebSocketHandshakeAccepted(
                acceptKey: acceptKey, subprotocol: subprotocol, deflate: parameters, responseBytes: Array(head.utf8)
            )
        )
    }

    /// The `Sec-WebSocket-Accept` value for a client key: base64(SHA-1(key + GUID)).
    public static func acceptKey(for key: String) -> String {
        let input = Array((key + acceptGUID).utf8)
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        input.withUnsafeBufferPointer { source in
            digest.withUnsafeMutableBufferPointer { target in
                _ = SHA1(source.baseAddress, source.count, target.baseAddress)
            }
        }
        return Base64.encode(digest)
    }

    /// Whether the key is the canonical base64 form of exactly 16 bytes (22 symbols, then `==`).
    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        for byte in bytes[..<22] where Base64.value(of: byte) == nil { return false }
        // The last symbol carries only 2 significant bits; the rest must be zero in canonical base64.
        guard let last = Base64.value(of: bytes[21]) else { return false }
        return last & 0x0F == 0
    }
}

/// A successful handshake: what to send and what was agreed.
public struct WebSocketHandshakeAccepted: Sendable, Hashable {
    /// The `Sec-WebSocket-Accept` value.
    public var acceptKey: String
    /// The chosen subprotocol, if any.
    public var subprotocol: String?
    /// The agreed permessage-deflate parameters, or nil when the connection runs uncompressed.
    public var deflate: PerMessageDeflateParameters?
    /// The complete `101 Switching Protocols` response.
    public var responseBytes: [UInt8]

    /// Creates an accepted handshake from its parts.
    public init(acceptKey: String, subprotocol: String?, deflate: PerMessageDeflateParameters?, responseBytes: [UInt8]) {
        self.acceptKey = acceptKey
        self.subprotocol = subprotocol
        self.deflate = deflate
        self.responseBytes = responseBytes
    }
}
