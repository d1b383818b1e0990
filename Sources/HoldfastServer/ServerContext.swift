import HoldfastCore
import HoldfastHTTP
import HoldfastTLS
import HoldfastWebSocket
import Logging
import Synchronization

/// What every connection of a server shares: settings resolved from the configuration, the TLS context, the
/// logger and the process-wide counters. Immutable apart from the atomics, so loops read it without locks.
final class ServerContext: Sendable {
    let configuration: Configuration
    let logger: Logger
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

    init(configuration: Configuration, logger: Logger, tls: TLSServerContext?) {
        self.configuration = configuration
        self.logger = logger
        self.tls = tls
        self.httpLimits = HTTPLimits(
            maxRequestLineLength: configuration.maxRequestLineBytes,
            maxHeaderCount: configuration.maxHeaderCount,
            maxHeaderBytes: configuration.maxHeaderBytes,
            maxBodyBytes: configuration.maxBodyBytes
        )
        self.webSocketLimits = WebSocketLimits(
            maxFrameSize: configuration.maxFrameBytes,
            maxMessageSize: configuration.maxMessageBytes
        )
        var deflate = PerMessageDeflateConfiguration()
        deflate.enabled = configuration.permessageDeflate
        deflate.serverMaxWindowBits = configuration.deflateServerMaxWindowBits
        deflate.compressionLevel = configuration.deflateLevel
        deflate.minimumSizeToCompress = configuration.deflateMinimumBytes
        self.deflate = deflate
    }
}
