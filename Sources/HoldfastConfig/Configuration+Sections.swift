public import HoldfastChannels
public import HoldfastCore
public import HoldfastHTTP
public import HoldfastWebSocket

extension Configuration {
    /// `[server]`.
    public struct ServerSection: Sendable {
        /// The plaintext client listener (ws, http).
        public var listen = SocketAddress(host: "127.0.0.1", port: 4000)
        /// Event loops (threads); 0 means one per core.
        public var eventLoops = 0
        /// Open client connections above which new ones are answered 503.
        public var maxConnections = 19_000
        /// SO_SNDBUF of every accepted client connection in bytes; 0 leaves the kernel's default and its autotuning.
        public var socketSendBufferBytes = 0
        /// Time a new connection has to complete its TLS handshake and its HTTP request.
        public var handshakeTimeoutMilliseconds: Int64 = 10_000
        /// An open WebSocket with no traffic at all for this long is closed (0 disables).
        public var idleTimeoutMilliseconds: Int64 = 120_000
        /// Upper bound for a graceful shutdown: close frames sent, output flushed, then exit.
        public var shutdownTimeoutMilliseconds: Int64 = 5_000
        /// Serve the raw RFC 6455 echo endpoint `GET /ws/echo`.
        public var echoEndpoint = true
        /// Serve the demo chat page `GET /` and its token endpoint `POST /demo/token` (signs tokens for any name).
        public var demoPage = true
        /// Directory for durable state (history database, secrets, handoff socket).
        public var stateDirectory = "./var/holdfast"
        /// Output a connection may have queued behind the message being written before it is treated as a slow
        /// consumer and closed (1008).
        public var maxOutboundBytes = 4 * 1024 * 1024
        /// Queued output above which the server stops reading from that connection until it drains.
        public var outboundHighWaterBytes = 256 * 1024
        /// Free resident heap, as a percentage of the heap in use (at least 1 MiB, at most 4 MiB), that has to
        /// stay above its floor for two checks, with the heap in use quiet, before the heap is trimmed; 0 keeps a
        /// fixed 4 MiB. The default, 6, gave back the burst's free heap at 19,000 joins and trimmed less often in
        /// steady traffic than the fixed 4 MiB.
        public var heapTrimSlackPercent = 6
        /// Origins allowed to open WebSockets; empty allows any.
        public var allowedOrigins: [String] = []
        /// Secret for signing connect tokens; generated into the state dir when empty.
        public var secretKey = ""
        /// The handler plugin loaded at start; empty means `libChatHandlers.so` next to the `holdfast` binary.
        public var handlersPath = ""
        /// A JSON file with the handler plugin's own settings, handed to its `makeHandler(state:config:)` at every
        /// start, swap and rollback (so a swap picks up an edited file); empty: the plugin gets `null`.
        public var handlerConfigPath = ""
        /// Enable test-only hooks (the `holdfast:crash_room` event that makes a room fail). Never in production.
        public var testHooks = false
        /// Accept a plain `user_id` connect param instead of a signed token (local trials only; logs a warning).
        public var allowUserIDParam = false

        /// The loop count after resolving 0 to the core count.
        public var resolvedEventLoops: Int { eventLoops > 0 ? eventLoops : EventLoopGroup.processorCount }
    }

    /// `[channels]`.
    public struct ChannelsSection: Sendable {
        /// A socket that sends nothing (not even a heartbeat) for this long is closed (Phoenix: 60 s).
        public var heartbeatTimeoutMilliseconds: Int64 = 60_000
        /// Topics one socket may join at once.
        public var maxTopics = 100
        /// Largest Phoenix frame accepted from a client.
        public var maxPayloadBytes = 65_536
        /// Messages a socket may send per rate window (heartbeats excepted) before getting `rate limited` errors.
        public var rateLimitMessages = 100
        /// The rate window.
        public var rateLimitWindowMilliseconds: Int64 = 1_000
        /// Presence diffs are coalesced over this window (0 = sent immediately).
        public var presenceWindowMilliseconds: Int64 = 20
        /// Rooms with at least this many presences keep their encoded `presence_state` in chunks between changes,
        /// so a join compresses only what changed (0 = never: less memory, the whole state encoded per change).
        public var presenceStateChunksFrom = 1_024
        /// A room's durable batch waits for the room's batches already being committed after it (at most one more
        /// commit), so their broadcasts reach each member in one write: `off`, `all` (the batch and its replies
        /// wait), `others` (its senders get it and their replies at once; only the other members' copies wait) or
        /// `paced` (`others`, and while the room keeps up, its next commit starts once its last fan-out is written;
        /// the default: half the sends per delivery in a closed loop, and an open loop keeps up as with `off`).
        public var joinDurableBatches = "paced"
        /// Each room logs what happened to its durable batches (held, joined, released alone and why) every this
        /// many batches, at `notice` (0: never).
        public var batchCountsEvery = 0
        /// Messages kept per room for recovery (`last_seen_id`).
        public var historyPerRoom = 1_000

        /// The limits every Phoenix socket enforces.
        public var socketLimits: ChannelSocketLimits {
            ChannelSocketLimits(
                maxTopics: maxTopics, maxPayloadBytes: maxPayloadBytes,
                heartbeatTimeoutMilliseconds: heartbeatTimeoutMilliseconds, maxMessagesPerWindow: rateLimitMessages,
                rateWindowMilliseconds: rateLimitWindowMilliseconds)
        }
    }

    /// `[upgrade]`.
    public struct UpgradeSection: Sendable {
        /// The binary SIGUSR2 upgrades to; empty means the path this process was started as (looked up again at
        /// the upgrade, so a `current` link switched to a new release is followed).
        public var binary = ""
        /// How long the new binary has to start and answer READY before the upgrade is abandoned.
        public var readyTimeoutMilliseconds = 10_000
        /// How long the new binary has to rebuild every connection and room and answer DONE.
        public var doneTimeoutMilliseconds = 10_000
        /// How long one step of the process handing over may run before a watchdog abandons it: rolls back
        /// before COMMIT, finishes after it. Longer than both answer timeouts, which bound the waiting steps, and
        /// than the 30 s the loops get to copy their connections.
        public var stepTimeoutMilliseconds = 60_000
        /// How long connections that cannot move yet (TLS handshake, half-received request) get to finish.
        public var handshakeGraceMilliseconds = 1_000
        /// How long the child process that rehearses a handler swap (loads the plugin, migrates the current
        /// state, builds and exports the new handler) may take before it is killed and the swap refused.
        public var pluginValidationTimeoutMilliseconds = 10_000
        /// How long the handler swap itself may keep the rooms suspended (export, migrate, build) before it is
        /// abandoned and the rooms resume with the current handler.
        public var handlerSwapTimeoutMilliseconds = 5_000
        /// A channel-handler call longer than this is logged and counted (`holdfast_handler_slow_calls_total`).
        public var handlerCallBudgetMilliseconds = 50
    }

    /// `[admin]`.
    public struct AdminSection: Sendable {
        /// The admin listener (upgrade, status); loopback only by default.
        public var listen = SocketAddress(host: "127.0.0.1", port: 4001)
        /// Bearer token for the admin endpoints; generated into the state dir when empty.
        public var token = ""
    }

    /// `[tls]`.
    public struct TLSSection: Sendable {
        /// The TLS listener (wss, https); off unless a certificate and key are configured.
        public var listen = SocketAddress(host: "127.0.0.1", port: 4443)
        /// PEM certificate chain path.
        public var certificatePath = ""
        /// PEM private key path.
        public var keyPath = ""
        /// Lowest TLS version accepted: "1.2" or "1.3".
        public var minimumVersion = "1.2"

        /// Whether a TLS listener is configured.
        public var isEnabled: Bool { !certificatePath.isEmpty && !keyPath.isEmpty }
    }

    /// `[http]`.
    public struct HTTPSection: Sendable {
        /// Longest request line.
        public var maxRequestLineBytes = 8192
        /// Most header fields in one request.
        public var maxHeaderCount = 64
        /// Most header bytes in one request.
        public var maxHeaderBytes = 16_384
        /// Largest request body.
        public var maxBodyBytes = 1 << 20

        /// The limits every request parser enforces.
        public var limits: HTTPLimits {
            HTTPLimits(
                maxRequestLineLength: maxRequestLineBytes, maxHeaderCount: maxHeaderCount,
                maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
        }
    }

    /// `[websocket]`.
    public struct WebSocketSection: Sendable {
        /// Largest frame accepted from a client.
        public var maxFrameBytes = 1 << 20
        /// Largest message (all its frames, after inflation) accepted from a client.
        public var maxMessageBytes = 1 << 20
        /// Offer permessage-deflate (RFC 7692) to clients that ask for it.
        public var permessageDeflate = true
        /// The largest window the server compresses with.
        public var deflateServerMaxWindowBits = 15
        /// Answer every deflate offer with `server_no_context_takeover`: room broadcasts and `presence_state` are
        /// then compressed once for all members, and no connection keeps a compressor (about 256 KiB each)
        /// between messages.
        public var deflateServerNoContextTakeover = true
        /// zlib level for compressed messages.
        public var deflateLevel = 6
        /// Messages shorter than this are sent uncompressed.
        public var deflateMinimumBytes = 64

        /// The limits every WebSocket enforces on incoming frames and messages.
        public var limits: WebSocketLimits {
            WebSocketLimits(maxFrameSize: maxFrameBytes, maxMessageSize: maxMessageBytes)
        }

        /// The server's compression settings.
        public var deflate: PerMessageDeflateConfiguration {
            var deflate = PerMessageDeflateConfiguration()
            deflate.enabled = permessageDeflate
            deflate.serverMaxWindowBits = deflateServerMaxWindowBits
            deflate.serverNoContextTakeover = deflateServerNoContextTakeover
            deflate.compressionLevel = deflateLevel
            deflate.minimumSizeToCompress = deflateMinimumBytes
            return deflate
        }
    }

    /// `[log]`.
    public struct LogSection: Sendable {
        /// trace, debug, info, notice, warning, error or critical.
        public var level = "info"
    }
}
