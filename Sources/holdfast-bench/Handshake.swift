import HoldfastBytes
import HoldfastWebSocket

/// The client half of the WebSocket opening handshake (RFC 6455 §4.1): the upgrade request, and the checks on
/// the server's `101` that prove it speaks WebSocket and negotiated nothing we did not offer.
struct Handshake {
    /// The `Sec-WebSocket-Accept` value a correct server must answer with.
    let expectedAccept: String
    /// The request bytes to send.
    let request: [UInt8]
    /// Whether the request offers permessage-deflate (with `server_no_context_takeover`, see ``InflateCache``).
    let offersDeflate: Bool

    /// The largest response head accepted; a larger one is a broken server, not a slow one.
    static let maximumResponseBytes = 8192

    /// Builds a request for `target` (at `path` instead of the target's own path, when given) with a fresh
    /// random 16-byte key.
    init(target: Target, path: String? = nil, offerDeflate: Bool = false, random: inout SplitMix) {
        var nonce: [UInt8] = []
        for _ in 0..<2 { withUnsafeBytes(of: random.next()) { nonce.append(contentsOf: $0) } }
        let key = Base64.encode(nonce)
        expectedAccept = WebSocketHandshake.acceptKey(for: key)
        let text = "GET \(path ?? target.path) HTTP/1.1\r\n"
            + "Host: \(target.hostHeader)\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            // We send uncompressed (RFC 7692 allows it) and decode each message alone.
            + (offerDeflate ? "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" : "")
            + "\r\n"
        request = Array(text.utf8)
        offersDeflate = offerDeflate
    }

    /// What the response bytes received so far amount to.
    enum Outcome: Equatable {
        /// The head is not complete yet.
        case incomplete
        /// A valid `101`; frames start at this offset; whether permessage-deflate was negotiated.
        case upgraded(headLength: Int, deflate: Bool)
        /// Anything else, with the reason.
        case rejected(String)
    }

    /// Checks the response head in `bytes`.
    func check(_ bytes: [UInt8]) -> Outcome {
        guard let end = Handshake.headEnd(bytes) else {
            return bytes.count > Handshake.maximumResponseBytes ? .rejected("response head too large") : .incomplete
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let status = lines.first, status.hasPrefix("HTTP/1.1 101") else {
            return .rejected("expected 101, got \"\(lines.first ?? "")\"")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        guard headers["upgrade"]?.lowercased() == "websocket" else { return .rejected("missing Upgrade: websocket") }
        guard headers["connection"]?.lowercased().contains("upgrade") == true else {
            return .rejected("missing Connection: Upgrade")
        }
        guard headers["sec-websocket-accept"] == expectedAccept else { return .rejected("wrong Sec-WebSocket-Accept") }
        guard let extensions = headers["sec-websocket-extensions"] else { return .upgraded(headLength: end + 4, deflate: false) }
        // Only what we offered may come back, and without context takeover our cache would be wrong.
        let parameters = extensions.split(separator: ";").map { $0.trimmingSpaces() }
        guard offersDeflate, parameters.first == "permessage-deflate", parameters.contains("server_no_context_takeover") else {
            return .rejected("unrequested extension \"\(extensions)\"")
        }
        return .upgraded(headLength: end + 4, deflate: true)
    }

    /// The index of the `\r\n\r\n` that ends the head, if present.
    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// A small, fast, seedable generator (SplitMix64) for handshake nonces and mask keys: the benchmark needs
/// unpredictability only against caching intermediaries, not against attackers.
struct SplitMix {
    private var state: UInt64

    /// Seeds from the system generator.
    init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
