import HoldfastAPI
import HoldfastHTTP
import HoldfastTLS
import HoldfastWebSocket

extension Connection {
    /// Where the connection is in its life, with the protocol layer that phase runs: a layer exists exactly as long
    /// as its phase, so no code has to trust that an optional is set.
    ///
    /// The layers are held in small classes (``HTTPLayer``, ``WebSocketLayer``): every event reads the state, and a
    /// one-pointer enum is cheap to read, while the layers mutate in place without copying the enum in and out
    /// (the inline version, about 145 bytes, cost 58% more user-space instructions per echo). Size note: 9 bytes
    /// inline, plus 64 bytes on the heap for a WebSocket's layer; see `ConnectionLayoutTests`.
    enum State {
        /// OpenSSL is running the TLS handshake.
        case tlsHandshake(TLSServerHandshake)
        /// Reading HTTP requests (health checks, the WebSocket upgrade); the layer is made when a request first
        /// needs the parser (an upgrade read in place needs none; the server API's is made at once).
        case http(HTTPLayer?)
        /// An open WebSocket and what it serves.
        case webSocket(WebSocketLayer)
        /// Our close frame is out; waiting for the peer's close (or the deadline) before closing TCP.
        case webSocketClosing(WebSocketLayer)
        /// Done with the protocol: writing the last queued bytes (a response, a close frame, an alert), then
        /// lingering. Input is ignored. The application (nil after HTTP) stays until the connection closes, so a
        /// Phoenix session keeps its room joins (and its handoff record) until then.
        case draining(Application?)
        /// Our last bytes are out and our write side is shut; discarding input until EOF or the deadline, so the
        /// kernel does not answer late input with a reset that could destroy the response in flight.
        case lingering(Application?)
        /// Closed; the object only waits to be released.
        case closed

        /// The phase, without its layer.
        var phase: Phase {
            switch self {
            case .tlsHandshake: .tlsHandshake
            case .http: .http
            case .webSocket: .webSocket
            case .webSocketClosing: .webSocketClosing
            case .draining: .draining
            case .lingering: .lingering
            case .closed: .closed
            }
        }

        /// What the WebSocket serves (or served), once upgraded.
        var application: Application? {
            switch self {
            case .webSocket(let layer), .webSocketClosing(let layer): layer.application
            case .draining(let application), .lingering(let application): application
            case .tlsHandshake, .http, .closed: nil
            }
        }
    }

    /// What a connection does once its queued output is all written. One byte, where two flags would grow every
    /// connection past its 144-byte malloc chunk (see `ConnectionLayoutTests`).
    enum AfterFlush: UInt8 {
        /// Goes on serving.
        case keepServing
        /// Shuts its write side, then discards input until EOF or the deadline (``State/lingering``).
        case linger
        /// Closes at once: a plaintext WebSocket whose close handshake is complete, whose peer sends nothing more.
        case close
    }

    /// Whether the connection ends once its queued output is written (a binary upgrade hands this over; the new
    /// process lingers).
    var closeWhenFlushed: Bool {
        get { afterFlush != .keepServing }
        set { afterFlush = newValue ? .linger : .keepServing }
    }

    /// The phases, for comparisons and log lines (``State`` without the layers).
    enum Phase: Equatable {
        case tlsHandshake, http, webSocket, webSocketClosing, draining, lingering, closed
    }

    /// What the socket serves once upgraded.
    enum Application {
        /// `/ws/echo`: every message comes back.
        case echo
        /// `/socket/websocket`: Phoenix Channels.
        case phoenix(PhoenixSession)

        /// The Phoenix session, if this is one.
        var session: PhoenixSession? { if case .phoenix(let session) = self { session } else { nil } }
    }

    /// The HTTP phase's layer: the request parser, mutated in place (and the server API's reader).
    final class HTTPLayer {
        var parser: HTTPRequestParser
        var api = APIRequestReader()

        init(limits: HTTPLimits) { parser = HTTPRequestParser(limits: limits) }
    }

    /// The WebSocket phases' layer: the protocol state, mutated in place, and what the socket serves. The closing
    /// phase takes over the same object.
    final class WebSocketLayer {
        var webSocket: WebSocketConnection
        let application: Application

        init(_ webSocket: consuming WebSocketConnection, serving application: Application) {
            (self.webSocket, self.application) = (webSocket, application)
        }
    }

    /// The phase of ``state``.
    var phase: Phase { state.phase }

    /// The Phoenix Channels session of a `/socket/websocket` connection, until the connection closes.
    var phoenix: PhoenixSession? { state.application?.session }

    /// Whether the connection speaks TLS (handshaking or established).
    var isTLS: Bool { if tls != nil { true } else if case .tlsHandshake = state { true } else { false } }

    /// Whether this WebSocket compresses (negotiated permessage-deflate); false outside the WebSocket phases.
    var compresses: Bool {
        switch state {
        case .webSocket(let layer), .webSocketClosing(let layer): layer.webSocket.deflateParameters != nil
        case .tlsHandshake, .http, .draining, .lingering, .closed: false
        }
    }
}
