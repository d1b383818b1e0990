import Glibc
public import HoldfastCore
public import HoldfastHTTP
public import HoldfastJSON
import Synchronization

/// The pages and their endpoints. Built once per process; answers on any loop (state behind atomics and a lock).
public final class WebPages: Sendable {
    /// The room the demo page joins.
    public static let demoTopic = "room:lobby"
    let demoPage: Bool
    let metrics: ServerMetrics
    let clock: ServerClock
    let tokens: DemoTokens
    /// When this process started serving, on the monotonic clock (the dashboard's uptime).
    let startedAt: Int64

    /// Pages for a server with the demo page on or off, signing demo tokens with `secret`.
    public init(demoPage: Bool, secret: [UInt8], metrics: ServerMetrics, clock: ServerClock) {
        self.demoPage = demoPage
        self.metrics = metrics
        self.clock = clock
        self.tokens = DemoTokens(secret: secret)
        self.startedAt = clock.nowMilliseconds()
    }

    /// The client listener's pages: the demo page, its files and its token endpoint; nil for any other path (and
    /// for these while the demo page is off).
    public func clientResponse(to request: HTTPRequest) -> HTTPResponse? {
        guard demoPage else { return nil }
        switch request.path {
        case "/demo/token":
            guard request.hasMethod("POST") else { return Self.methodNotAllowed("POST") }
            return tokens.answer(
                body: request.body, now: clock.nowMilliseconds(), wallSeconds: clock.wallMilliseconds() / 1000)
        default:
            return Self.asset(request, in: WebAssets.demo)
        }
    }

    /// The admin listener's pages that need no token (the dashboard asks for it in a form); nil for other paths.
    public func adminPage(to request: HTTPRequest) -> HTTPResponse? {
        if request.path == "/admin" {
            return HTTPResponse(status: HTTPStatus(rawValue: 308), headers: [("Location", "/admin/")])
        }
        return Self.asset(request, in: WebAssets.admin)
    }

    /// `GET /admin/stats` (the bearer token already checked): everything the dashboard shows, counters as totals
    /// since the process started. The dashboard keeps the last ten minutes of points itself.
    public func stats(_ facts: ServerFacts) -> HTTPResponse {
        let tls = metrics.tlsConnections.load(ordering: .relaxed)
        let admin = metrics.adminConnections.load(ordering: .relaxed)
        let clients = max(0, facts.connections - admin)
        let now = clock.nowMilliseconds()
        let document = JSONValue.object([
            JSONMember("pid", .integer(Int64(facts.pid))),
            JSONMember("version", .string(facts.version)),
            JSONMember("uptime_ms", .integer(now - startedAt)),
            JSONMember("now_ms", .integer(now)),
            JSONMember("handlers", facts.handlersDocument(withState: false)),
            JSONMember(
                "connections",
                .object([
                    JSONMember("clients", .integer(Int64(clients))),
                    JSONMember("plain", .integer(Int64(max(0, clients - tls)))),
                    JSONMember("tls", .integer(Int64(tls))),
                    JSONMember("admin", .integer(Int64(admin))),
                ])),
            JSONMember(
                "counters",
                .object([
                    JSONMember("messages_in", .integer(Int64(metrics.messagesIn.total))),
                    JSONMember("messages_out", .integer(Int64(metrics.messagesOut.total))),
                    JSONMember("deliveries", .integer(Int64(metrics.deliveries.total))),
                    JSONMember("presence_diffs", .integer(Int64(metrics.presenceDiffs.total))),
                    JSONMember("joins", .integer(Int64(metrics.joins.total))),
                ])),
            JSONMember("rss_bytes", .integer(ProcessFacts.residentBytes())),
            JSONMember(
                "rooms",
                .object([
                    JSONMember("count", .integer(Int64(facts.rooms))),
                    JSONMember(
                        "top",
                        .array(
                            metrics.roomSizes.top(20).map {
                                .object([
                                    JSONMember("topic", .string($0.topic)),
                                    JSONMember("members", .integer(Int64($0.members))),
                                ])
                            })),
                ])),
            JSONMember("actors", .object([JSONMember("restarts", .integer(Int64(facts.roomRestarts)))])),
            JSONMember(
                "event_loops",
                .array(
                    facts.loopIdleNanoseconds.enumerated().map {
                        .object([
                            JSONMember("index", .integer(Int64($0.offset))),
                            JSONMember("idle_ms", .double(Double($0.element) / 1e6)),
                        ])
                    })),
            JSONMember("history", .object([JSONMember("queued_batches", .integer(Int64(facts.historyQueuedBatches)))])),
            JSONMember("upgrades", .array(facts.upgrades)),
            JSONMember("demo_page", .bool(demoPage)),
        ])
        return HTTPResponse(
            status: .ok, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
            body: JSON.encode(document))
    }

    /// What a Phoenix client on a `room:*` topic gets in reply to `server_info`: the serving process and the
    /// handler version it runs now.
    public static func serverInfo(handlerVersion: String, binaryVersion: String) -> JSONValue {
        .object([
            JSONMember("pid", .integer(Int64(getpid()))),
            JSONMember("handler_version", .string(handlerVersion)),
            JSONMember("version", .string(binaryVersion)),
        ])
    }

    /// Headers every page and file carries: no inline script or style, no framing, no sniffing.
    static let pageHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy", "default-src 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-cache"),
    ]

    static func asset(_ request: HTTPRequest, in table: [String: WebAsset]) -> HTTPResponse? {
        guard let asset = table[String(request.path)] else { return nil }
        guard request.hasMethod("GET") || request.hasMethod("HEAD") else { return methodNotAllowed("GET, HEAD") }
        return HTTPResponse(
            status: .ok, headers: [("Content-Type", asset.contentType)] + pageHeaders,
            body: request.hasMethod("HEAD") ? [] : asset.bytes)
    }

    static func methodNotAllowed(_ allow: String) -> HTTPResponse {
        .plainText(.methodNotAllowed, "method not allowed", extraHeaders: [("Allow", allow)])
    }
}

/// Facts about this process the kernel keeps.
enum ProcessFacts {
    /// Resident set size in bytes (`/proc/self/statm`), 0 if unreadable.
    static func residentBytes() -> Int64 {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return 0 }
        let fields = buffer[..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 1, let pages = Int64(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
