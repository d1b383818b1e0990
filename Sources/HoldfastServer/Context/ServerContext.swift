import Glibc
import HoldfastAPI
import HoldfastAuth
import HoldfastChannels
import HoldfastConfig
import HoldfastCore
import HoldfastHTTP
import HoldfastHandoff
import HoldfastTLS
import HoldfastUpgrade
import HoldfastWeb
import HoldfastWebSocket
import Logging
import Synchronization

/// What every connection of a server shares: settings resolved from the configuration, the TLS context, the
/// logger and the process-wide counters. Immutable apart from the atomics, so loops read it without locks.
final class ServerContext: Sendable {
    let configuration: Configuration
    let logger: Logger
    /// Whether debug lines are written (a constant, as the logger is): `logger.debug` copies the handler to learn it.
    let logsDebug: Bool
    let tls: TLSServerContext?
    let httpLimits: HTTPLimits
    let webSocketLimits: WebSocketLimits
    let deflate: PerMessageDeflateConfiguration
    /// Open client connections across all loops (the 503 limit and the shutdown drain read it).
    let openConnections = Atomic<Int>(0)
    /// Connections accepted since start.
    let acceptedConnections = Atomic<Int>(0)
    /// Set once a graceful shutdown begins.
    let shuttingDown = Atomic<Bool>(false)
    let metrics: ServerMetrics
    let rooms: RoomRegistry
    let admin: AdminAccess
    let upgrades: HandlerUpgrades
    let channelLimits: SharedChannelSocketLimits  // one copy for every socket
    /// The time every deadline and timeout of the connections is decided by.
    let clock: ServerClock
    /// The binary upgrade (socket handoff) of this process.
    let handoff: any BinaryUpgrading
    /// Tests only: the fault to inject into a binary upgrade (`HOLDFAST_TEST_FAULT`), nil otherwise.
    let handoffFault: HandoffFault?
    /// The demo page, the dashboard and `/admin/stats`.
    let web: WebPages
    /// The server API (nil when off), its request limits, and the per-user token cut-off it keeps.
    let api: APIService?
    let apiHTTPLimits: HTTPLimits
    let notBefore: NotBeforeStore
    private let secret: [UInt8]
    private let connectionIDs = Atomic<UInt64>(0)

    init(
        configuration: Configuration, logger: Logger, tls: TLSServerContext?, metrics: ServerMetrics,
        rooms: RoomRegistry, secret: [UInt8], admin: AdminAccess, upgrades: HandlerUpgrades, clock: ServerClock,
        handoff: any BinaryUpgrading, handoffFault: HandoffFault?, api: APIService?, notBefore: NotBeforeStore
    ) {
        self.api = api
        self.notBefore = notBefore
        var apiLimits = configuration.http.limits
        apiLimits.maxBodyBytes = configuration.api.maxBodyBytes
        self.apiHTTPLimits = apiLimits
        self.clock = clock
        self.handoff = handoff
        self.handoffFault = handoffFault
        self.admin = admin
        self.upgrades = upgrades
        self.configuration = configuration
        (self.logger, self.logsDebug) = (logger, logger.logLevel <= .debug)
        self.tls = tls
        self.metrics = metrics
        self.rooms = rooms
        self.secret = secret
        self.channelLimits = SharedChannelSocketLimits(configuration.channels.socketLimits)
        self.httpLimits = configuration.http.limits
        self.webSocketLimits = configuration.websocket.limits
        self.deflate = configuration.websocket.deflate
        self.web = WebPages(demoPage: configuration.server.demoPage, secret: secret, metrics: metrics, clock: clock)
    }
}

extension ServerContext {
    /// Counts a connection in (`delta` 1) or out (-1), the TLS and admin ones apart too.
    func countOpen(_ delta: Int, tls: Bool, admin: Bool = false) {
        openConnections.add(delta, ordering: .relaxed)
        metrics.recordOpen(delta, tls: tls, admin: admin)
    }

    /// A process-unique id for a Phoenix socket (presence owner, room member identity).
    func nextConnectionID() -> UInt64 { connectionIDs.wrappingAdd(1, ordering: .relaxed).newValue }

    /// The last connection id handed out (a binary upgrade passes it on, so ids stay unique across processes).
    func peekNextConnectionID() -> UInt64 { connectionIDs.load(ordering: .relaxed) }

    /// Continues numbering after the previous process's last id.
    func continueConnectionIDs(after last: UInt64) {
        connectionIDs.store(max(last, connectionIDs.load(ordering: .relaxed)), ordering: .relaxed)
    }

    /// Phoenix's `connect/3`: the signed `token` param names the user; a plain `user_id` is accepted only when
    /// configured for local trials.
    func authenticate(_ params: [String: String]) -> Result<String, AuthenticationFailure> {
        if let token = params["token"], !token.isEmpty {
            switch ConnectToken.verifyClaims(token[...], secret: secret, now: clock.wallMilliseconds() / 1000) {
            case .success(let claims) where notBefore.refuses(user: claims.user, issuedAt: claims.issuedAt):
                return .failure(AuthenticationFailure(reason: "token revoked"))
            case .success(let claims): return .success(claims.user)
            case .failure(let error): return .failure(AuthenticationFailure(reason: "\(error)"))
            }
        }
        if configuration.server.allowUserIDParam, let user = params["user_id"], !user.isEmpty, user.utf8.count <= 256 {
            return .success(user)
        }
        return .failure(AuthenticationFailure(reason: "missing token"))
    }
}
