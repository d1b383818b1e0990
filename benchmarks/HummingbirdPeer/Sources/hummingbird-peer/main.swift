// hummingbird-peer: the SwiftNIO peer in Holdfast's side-by-side benchmarks.
//
//   hummingbird-peer [--port N]
//
// Listens on 127.0.0.1:N (default 9002) with Hummingbird's HTTP/1.1 server and upgrades
//   GET /ws/echo       to a WebSocket that sends every text or binary message back, and
//   GET /ws/broadcast  to a WebSocket whose every message goes to every client connected there.
// Written the way the Hummingbird documentation shows: a WebSocket router, the default
// WebSocket configuration (no compression), the default event loop group, log level warning.

import Hummingbird
import HummingbirdWebSocket
import Logging
import Synchronization

/// The clients connected to /ws/broadcast, by connection number.
final class BroadcastRegistry: Sendable {
    private let writers = Mutex<[Int: WebSocketOutboundWriter]>([:])
    private let nextID = Atomic<Int>(0)

    /// Adds `writer` and returns the number to remove it by.
    func add(_ writer: WebSocketOutboundWriter) -> Int {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
        writers.withLock { $0[id] = writer }
        return id
    }

    func remove(_ id: Int) {
        _ = writers.withLock { $0.removeValue(forKey: id) }
    }

    /// Sends `message` to every registered client; a client whose write fails is skipped
    /// (its own handler ends when its connection closes and removes it).
    func broadcast(_ message: WebSocketMessage) async {
        let targets = writers.withLock { Array($0.values) }
        for writer in targets {
            switch message {
            case .text(let text): try? await writer.write(.text(text))
            case .binary(let buffer): try? await writer.write(.binary(buffer))
            }
        }
    }
}

/// Largest message accepted; far above what the benchmarks send.
let maxMessageSize = 1 << 20

func parsePort(_ arguments: [String]) -> Int {
    var port = 9002
    var rest = arguments.dropFirst()
    while let argument = rest.popFirst() {
        switch argument {
        case "--port":
            guard let value = rest.popFirst().flatMap({ Int($0) }), (1...65535).contains(value) else {
                fatalError("--port needs a number between 1 and 65535")
            }
            port = value
        default:
            fatalError("unknown argument \(argument); usage: hummingbird-peer [--port N]")
        }
    }
    return port
}

let port = parsePort(CommandLine.arguments)
var logger = Logger(label: "hummingbird-peer")
logger.logLevel = .warning

let registry = BroadcastRegistry()
let wsRouter = Router(context: BasicWebSocketRequestContext.self)
wsRouter.ws("/ws/echo") { inbound, outbound, _ in
    for try await message in inbound.messages(maxSize: maxMessageSize) {
        switch message {
        case .text(let text): try await outbound.write(.text(text))
        case .binary(let buffer): try await outbound.write(.binary(buffer))
        }
    }
}
wsRouter.ws("/ws/broadcast") { inbound, outbound, _ in
    let id = registry.add(outbound)
    defer { registry.remove(id) }
    for try await message in inbound.messages(maxSize: maxMessageSize) {
        await registry.broadcast(message)
    }
}

let app = Application(
    router: Router(),
    server: .http1WebSocketUpgrade(webSocketRouter: wsRouter),
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "hummingbird-peer"),
    logger: logger
)
try await app.runService()
