import HoldfastCore

/// One configuration key: its TOML section and name, its environment variable, and how to apply a value.
///
/// Values arrive as text (environment variables) or as TOML scalars rendered to text, so one parser per key
/// serves both sources.
public struct ConfigurationKey: Sendable {
    /// The TOML section (`server`, `tls`, ...).
    public let section: String
    /// The key inside its section.
    public let name: String
    /// What the value must look like, for error messages.
    public let expected: String
    let apply: @Sendable (inout Configuration, String) -> Bool
    /// How a refused value is shown in the error, for keys that may hold a secret (a password in a URL).
    let redact: @Sendable (String) -> String

    /// `section.name`.
    public var path: String { "\(section).\(name)" }

    /// `HOLDFAST_NAME` for keys of `[server]`, `HOLDFAST_SECTION_NAME` for the others.
    public var environmentVariable: String {
        let base = section == "server" ? name : "\(section)_\(name)"
        return "HOLDFAST_" + base.uppercased()
    }

    /// Applies `text` to `configuration`, or throws naming the key and `source`.
    public func apply(_ text: String, to configuration: inout Configuration, source: String) throws(ConfigurationError)
    {
        guard apply(&configuration, text) else {
            throw .invalidValue(key: path, value: redact(text), expected: expected, source: source)
        }
    }

    init(
        _ section: String, _ name: String, expected: String, redact: @escaping @Sendable (String) -> String = { $0 },
        apply: @escaping @Sendable (inout Configuration, String) -> Bool
    ) {
        self.section = section
        self.name = name
        self.expected = expected
        self.redact = redact
        self.apply = apply
    }

    static func integer<Value: FixedWidthInteger & Sendable>(
        _ section: String, _ name: String, _ range: ClosedRange<Value>,
        _ keyPath: any WritableKeyPath<Configuration, Value> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(section, name, expected: "an integer in \(range.lowerBound)...\(range.upperBound)") {
            guard let value = Value($1), range.contains(value) else { return false }
            $0[keyPath: keyPath] = value
            return true
        }
    }

    static func boolean(
        _ section: String, _ name: String, _ keyPath: any WritableKeyPath<Configuration, Bool> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(section, name, expected: "true or false") {
            switch $1.lowercased() {
            case "true", "1", "yes", "on": $0[keyPath: keyPath] = true
            case "false", "0", "no", "off": $0[keyPath: keyPath] = false
            default: return false
            }
            return true
        }
    }

    static func string(
        _ section: String, _ name: String, _ keyPath: any WritableKeyPath<Configuration, String> & Sendable,
        allowed: [String]? = nil
    ) -> ConfigurationKey {
        let expected = allowed.map { "one of " + $0.joined(separator: ", ") } ?? "a string"
        return ConfigurationKey(section, name, expected: expected) {
            if let allowed, !allowed.contains($1) { return false }
            $0[keyPath: keyPath] = $1
            return true
        }
    }

    static func address(
        _ section: String, _ name: String, _ keyPath: any WritableKeyPath<Configuration, SocketAddress> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(section, name, expected: "HOST:PORT with a numeric host, e.g. 127.0.0.1:4000 or [::1]:4000") {
            guard let address = SocketAddress(parsing: $1) else { return false }
            $0[keyPath: keyPath] = address
            return true
        }
    }

    static func list(
        _ section: String, _ name: String, _ keyPath: any WritableKeyPath<Configuration, [String]> & Sendable
    ) -> ConfigurationKey {
        ConfigurationKey(section, name, expected: "a list of strings (comma-separated in the environment)") {
            $0[keyPath: keyPath] = $1.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }
                .filter { !$0.isEmpty }
            return true
        }
    }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var view = self[...]
        while view.first == set { view = view.dropFirst() }
        while view.last == set { view = view.dropLast() }
        return String(view)
    }
}

extension ConfigurationKey {
    /// Every key Holdfast understands, in the order `config/holdfast.toml` documents them.
    public static let all: [ConfigurationKey] = coreKeys + backendKeys

    static let coreKeys: [ConfigurationKey] = [
        .address("server", "listen", \.server.listen),
        .integer("server", "event_loops", 0...256, \.server.eventLoops),
        .integer("server", "max_connections", 1...1_000_000, \.server.maxConnections),
        .integer("server", "socket_send_buffer", 0...(64 << 20), \.server.socketSendBufferBytes),
        .integer("server", "handshake_timeout_ms", 100...600_000, \.server.handshakeTimeoutMilliseconds),
        .integer("server", "idle_timeout_ms", 0...86_400_000, \.server.idleTimeoutMilliseconds),
        .integer("server", "shutdown_timeout_ms", 0...600_000, \.server.shutdownTimeoutMilliseconds),
        .boolean("server", "echo_endpoint", \.server.echoEndpoint),
        .boolean("server", "demo_page", \.server.demoPage),
        .string("server", "state_dir", \.server.stateDirectory),
        .integer("server", "max_outbound_bytes", 4096...(1 << 30), \.server.maxOutboundBytes),
        .integer("server", "outbound_high_water_bytes", 1024...(1 << 30), \.server.outboundHighWaterBytes),
        .integer("server", "heap_trim_slack_percent", 0...100, \.server.heapTrimSlackPercent),
        .list("server", "allowed_origins", \.server.allowedOrigins),
        .string("server", "secret_key", \.server.secretKey),
        .boolean("server", "allow_user_id_param", \.server.allowUserIDParam),
        .boolean("server", "test_hooks", \.server.testHooks),
        .string("server", "handlers", \.server.handlersPath),
        .string("server", "handler_config", \.server.handlerConfigPath),
        .integer("channels", "heartbeat_timeout_ms", 1_000...3_600_000, \.channels.heartbeatTimeoutMilliseconds),
        .integer("channels", "max_topics", 1...10_000, \.channels.maxTopics),
        .integer("channels", "max_payload_bytes", 128...(16 << 20), \.channels.maxPayloadBytes),
        .integer("channels", "rate_limit_messages", 1...1_000_000, \.channels.rateLimitMessages),
        .integer("channels", "rate_limit_window_ms", 10...3_600_000, \.channels.rateLimitWindowMilliseconds),
        .integer("channels", "presence_window_ms", 0...10_000, \.channels.presenceWindowMilliseconds),
        .integer("channels", "presence_state_chunks_from", 0...10_000_000, \.channels.presenceStateChunksFrom),
        ConfigurationKey(
            "channels", "join_durable_batches", expected: "off, all, others or paced (false and true: off, all)"
        ) {
            let mode = ["false": "off", "true": "all"][$1.lowercased()] ?? $1.lowercased()
            guard ["off", "all", "others", "paced"].contains(mode) else { return false }
            $0.channels.joinDurableBatches = mode
            return true
        },
        .integer("channels", "history_per_room", 1...1_000_000, \.channels.historyPerRoom),
        .integer("channels", "batch_counts_every", 0...1_000_000_000, \.channels.batchCountsEvery),
        .string("upgrade", "binary", \.upgrade.binary),
        .integer("upgrade", "ready_timeout_ms", 100...600_000, \.upgrade.readyTimeoutMilliseconds),
        .integer("upgrade", "done_timeout_ms", 100...600_000, \.upgrade.doneTimeoutMilliseconds),
        .integer("upgrade", "step_timeout_ms", 1_000...3_600_000, \.upgrade.stepTimeoutMilliseconds),
        .integer("upgrade", "handshake_grace_ms", 0...60_000, \.upgrade.handshakeGraceMilliseconds),
        .integer(
            "upgrade", "plugin_validation_timeout_ms", 100...120_000, \.upgrade.pluginValidationTimeoutMilliseconds),
        .integer("upgrade", "handler_swap_timeout_ms", 100...120_000, \.upgrade.handlerSwapTimeoutMilliseconds),
        .integer("upgrade", "handler_call_budget_ms", 1...60_000, \.upgrade.handlerCallBudgetMilliseconds),
        .address("admin", "listen", \.admin.listen),
        .string("admin", "token", \.admin.token),
        .address("tls", "listen", \.tls.listen),
        .string("tls", "cert", \.tls.certificatePath),
        .string("tls", "key", \.tls.keyPath),
        .string("tls", "min_version", \.tls.minimumVersion, allowed: ["1.2", "1.3"]),
        .integer("http", "max_request_line", 64...(1 << 20), \.http.maxRequestLineBytes),
        .integer("http", "max_header_count", 1...1024, \.http.maxHeaderCount),
        .integer("http", "max_header_bytes", 256...(1 << 20), \.http.maxHeaderBytes),
        .integer("http", "max_body_bytes", 0...(1 << 30), \.http.maxBodyBytes),
        .integer("websocket", "max_frame_size", 125...(1 << 30), \.websocket.maxFrameBytes),
        .integer("websocket", "max_message_size", 125...(1 << 30), \.websocket.maxMessageBytes),
        .boolean("websocket", "permessage_deflate", \.websocket.permessageDeflate),
        .integer("websocket", "deflate_server_max_window_bits", 9...15, \.websocket.deflateServerMaxWindowBits),
        .boolean("websocket", "deflate_server_no_context_takeover", \.websocket.deflateServerNoContextTakeover),
        .integer("websocket", "deflate_level", 0...9, \.websocket.deflateLevel),
        .integer("websocket", "deflate_min_size", 0...(1 << 30), \.websocket.deflateMinimumBytes),
        .redisURL(),
        .nodeName(),
        .integer("cluster", "node_timeout_ms", 500...600_000, \.cluster.nodeTimeoutMilliseconds),
        .string(
            "log", "level", \.log.level,
            allowed: ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        ),
    ]
}
