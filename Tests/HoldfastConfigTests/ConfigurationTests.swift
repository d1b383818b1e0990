import Glibc
import HoldfastChannels
import HoldfastCore
import HoldfastHTTP
import HoldfastWebSocket
import Testing

@testable import HoldfastConfig

@Suite struct ConfigurationTests {
    /// The package root, found from this file's path.
    static var packageRoot: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    @Test func embeddedDefaultsMatchTheDesign() {
        let configuration = Configuration()
        #expect(configuration.server.listen == SocketAddress(host: "127.0.0.1", port: 4000))
        #expect(configuration.admin.listen == SocketAddress(host: "127.0.0.1", port: 4001))
        #expect(configuration.tls.listen.port == 4443)
        #expect(!configuration.tls.isEnabled)
        #expect(configuration.server.stateDirectory == "./var/holdfast")
        #expect(configuration.server.eventLoops == 0)
        #expect(configuration.server.echoEndpoint)
    }

    @Test func shippedConfigFileDocumentsEveryKeyWithItsDefault() throws {
        let path = Self.packageRoot + "/config/holdfast.toml"
        let fromFile = try Configuration.load(path: path, environment: [:])
        let text = try Configuration.readFile(path)
        for key in ConfigurationKey.all {
            #expect(text.contains("\n\(key.name) = "), "config/holdfast.toml must document \(key.path)")
        }
        let defaults = Configuration()
        #expect(fromFile.server.listen == defaults.server.listen)
        #expect(fromFile.server.maxConnections == defaults.server.maxConnections)
        #expect(fromFile.websocket.maxMessageBytes == defaults.websocket.maxMessageBytes)
        #expect(fromFile.log.level == defaults.log.level)
    }

    @Test func theProductionSampleTurnsTheDemoPageOff() throws {
        let production = try Configuration.load(path: Self.packageRoot + "/config/production.toml", environment: [:])
        #expect(!production.server.demoPage)
        #expect(Configuration().server.demoPage)
    }

    @Test func environmentOverridesTheFile() throws {
        var configuration = Configuration()
        try configuration.apply(toml: "[server]\nlisten = \"127.0.0.1:5000\"\n", source: "test")
        try configuration.apply(environment: ["HOLDFAST_LISTEN": "127.0.0.1:6000", "HOLDFAST_TLS_CERT": "/c.pem"])
        #expect(configuration.server.listen.port == 6000)
        #expect(configuration.tls.certificatePath == "/c.pem")
    }

    @Test func unknownKeysAreErrorsNamingTheKey() {
        var configuration = Configuration()
        #expect(throws: ConfigurationError.unknownKey("server.lisen", source: "test")) {
            try configuration.apply(toml: "[server]\nlisen = \"127.0.0.1:1\"\n", source: "test")
        }
    }

    @Test func invalidValuesSayWhatIsExpected() {
        var configuration = Configuration()
        do {
            try configuration.apply(environment: ["HOLDFAST_WEBSOCKET_DEFLATE_LEVEL": "11"])
            Issue.record("deflate level 11 must be refused")
        } catch {
            #expect(error.description.contains("websocket.deflate_level"))
            #expect(error.description.contains("0...9"))
        }
    }

    @Test func durableBatchJoiningTakesItsModesAndTheFormerBooleans() throws {
        var configuration = Configuration()
        #expect(configuration.channels.joinDurableBatches == "paced")
        try configuration.apply(toml: "[channels]\njoin_durable_batches = \"others\"\n", source: "test")
        #expect(configuration.channels.joinDurableBatches == "others")
        try configuration.apply(toml: "[channels]\njoin_durable_batches = true\n", source: "test")
        #expect(configuration.channels.joinDurableBatches == "all")
        try configuration.apply(environment: ["HOLDFAST_CHANNELS_JOIN_DURABLE_BATCHES": "false"])
        #expect(configuration.channels.joinDurableBatches == "off")
        #expect(throws: ConfigurationError.self) {
            try configuration.apply(environment: ["HOLDFAST_CHANNELS_JOIN_DURABLE_BATCHES": "senders"])
        }
    }

    @Test func listsAreParsedFromTOMLArrays() throws {
        var configuration = Configuration()
        try configuration.apply(toml: "[server]\nallowed_origins = [\"https://a\", \"https://b\"]\n", source: "test")
        #expect(configuration.server.allowedOrigins == ["https://a", "https://b"])
    }

    @Test func malformedTOMLIsReported() {
        var configuration = Configuration()
        #expect(throws: ConfigurationError.self) {
            try configuration.apply(toml: "[server\nlisten = ", source: "test")
        }
    }

    @Test func theOutsideNamesOfTheKeysStayFixed() {
        // TOML keys and environment variables are an interface: deployments set them.
        let names = ConfigurationKey.all.map { "\($0.path) \($0.environmentVariable)" }
        #expect(
            names == [
                "server.listen HOLDFAST_LISTEN", "server.event_loops HOLDFAST_EVENT_LOOPS",
                "server.max_connections HOLDFAST_MAX_CONNECTIONS",
                "server.socket_send_buffer HOLDFAST_SOCKET_SEND_BUFFER",
                "server.handshake_timeout_ms HOLDFAST_HANDSHAKE_TIMEOUT_MS",
                "server.idle_timeout_ms HOLDFAST_IDLE_TIMEOUT_MS",
                "server.shutdown_timeout_ms HOLDFAST_SHUTDOWN_TIMEOUT_MS",
                "server.echo_endpoint HOLDFAST_ECHO_ENDPOINT", "server.demo_page HOLDFAST_DEMO_PAGE",
                "server.state_dir HOLDFAST_STATE_DIR",
                "server.max_outbound_bytes HOLDFAST_MAX_OUTBOUND_BYTES",
                "server.outbound_high_water_bytes HOLDFAST_OUTBOUND_HIGH_WATER_BYTES",
                "server.heap_trim_slack_percent HOLDFAST_HEAP_TRIM_SLACK_PERCENT",
                "server.allowed_origins HOLDFAST_ALLOWED_ORIGINS", "server.secret_key HOLDFAST_SECRET_KEY",
                "server.allow_user_id_param HOLDFAST_ALLOW_USER_ID_PARAM", "server.test_hooks HOLDFAST_TEST_HOOKS",
                "server.handlers HOLDFAST_HANDLERS", "server.handler_config HOLDFAST_HANDLER_CONFIG",
                "channels.heartbeat_timeout_ms HOLDFAST_CHANNELS_HEARTBEAT_TIMEOUT_MS",
                "channels.max_topics HOLDFAST_CHANNELS_MAX_TOPICS",
                "channels.max_payload_bytes HOLDFAST_CHANNELS_MAX_PAYLOAD_BYTES",
                "channels.rate_limit_messages HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES",
                "channels.rate_limit_window_ms HOLDFAST_CHANNELS_RATE_LIMIT_WINDOW_MS",
                "channels.presence_window_ms HOLDFAST_CHANNELS_PRESENCE_WINDOW_MS",
                "channels.presence_state_chunks_from HOLDFAST_CHANNELS_PRESENCE_STATE_CHUNKS_FROM",
                "channels.join_durable_batches HOLDFAST_CHANNELS_JOIN_DURABLE_BATCHES",
                "channels.history_per_room HOLDFAST_CHANNELS_HISTORY_PER_ROOM",
                "channels.batch_counts_every HOLDFAST_CHANNELS_BATCH_COUNTS_EVERY",
                "upgrade.binary HOLDFAST_UPGRADE_BINARY", "upgrade.ready_timeout_ms HOLDFAST_UPGRADE_READY_TIMEOUT_MS",
                "upgrade.done_timeout_ms HOLDFAST_UPGRADE_DONE_TIMEOUT_MS",
                "upgrade.step_timeout_ms HOLDFAST_UPGRADE_STEP_TIMEOUT_MS",
                "upgrade.handshake_grace_ms HOLDFAST_UPGRADE_HANDSHAKE_GRACE_MS",
                "upgrade.plugin_validation_timeout_ms HOLDFAST_UPGRADE_PLUGIN_VALIDATION_TIMEOUT_MS",
                "upgrade.handler_swap_timeout_ms HOLDFAST_UPGRADE_HANDLER_SWAP_TIMEOUT_MS",
                "upgrade.handler_call_budget_ms HOLDFAST_UPGRADE_HANDLER_CALL_BUDGET_MS",
                "admin.listen HOLDFAST_ADMIN_LISTEN", "admin.token HOLDFAST_ADMIN_TOKEN",
                "tls.listen HOLDFAST_TLS_LISTEN", "tls.cert HOLDFAST_TLS_CERT", "tls.key HOLDFAST_TLS_KEY",
                "tls.min_version HOLDFAST_TLS_MIN_VERSION",
                "http.max_request_line HOLDFAST_HTTP_MAX_REQUEST_LINE",
                "http.max_header_count HOLDFAST_HTTP_MAX_HEADER_COUNT",
                "http.max_header_bytes HOLDFAST_HTTP_MAX_HEADER_BYTES",
                "http.max_body_bytes HOLDFAST_HTTP_MAX_BODY_BYTES",
                "websocket.max_frame_size HOLDFAST_WEBSOCKET_MAX_FRAME_SIZE",
                "websocket.max_message_size HOLDFAST_WEBSOCKET_MAX_MESSAGE_SIZE",
                "websocket.permessage_deflate HOLDFAST_WEBSOCKET_PERMESSAGE_DEFLATE",
                "websocket.deflate_server_max_window_bits HOLDFAST_WEBSOCKET_DEFLATE_SERVER_MAX_WINDOW_BITS",
                "websocket.deflate_server_no_context_takeover HOLDFAST_WEBSOCKET_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER",
                "websocket.deflate_level HOLDFAST_WEBSOCKET_DEFLATE_LEVEL",
                "websocket.deflate_min_size HOLDFAST_WEBSOCKET_DEFLATE_MIN_SIZE",
                "cluster.redis_url HOLDFAST_CLUSTER_REDIS_URL", "cluster.node_name HOLDFAST_CLUSTER_NODE_NAME",
                "cluster.node_timeout_ms HOLDFAST_CLUSTER_NODE_TIMEOUT_MS", "log.level HOLDFAST_LOG_LEVEL",
                "api.listen HOLDFAST_API_LISTEN", "api.keys HOLDFAST_API_KEYS",
                "api.max_body_bytes HOLDFAST_API_MAX_BODY_BYTES",
                "api.rate_limit_per_second HOLDFAST_API_RATE_LIMIT_PER_SECOND",
                "api.rate_limit_burst HOLDFAST_API_RATE_LIMIT_BURST", "webhooks.url HOLDFAST_WEBHOOKS_URL",
                "webhooks.secret HOLDFAST_WEBHOOKS_SECRET", "webhooks.client_messages HOLDFAST_WEBHOOKS_CLIENT_MESSAGES",
                "webhooks.batch_ms HOLDFAST_WEBHOOKS_BATCH_MS", "webhooks.timeout_ms HOLDFAST_WEBHOOKS_TIMEOUT_MS",
                "webhooks.max_backoff_ms HOLDFAST_WEBHOOKS_MAX_BACKOFF_MS",
                "webhooks.queue_max_bytes HOLDFAST_WEBHOOKS_QUEUE_MAX_BYTES",
            ])
    }

    @Test func eachKeyLandsInItsSection() throws {
        var configuration = Configuration()
        try configuration.apply(
            toml: """
                [server]
                max_connections = 7
                [channels]
                max_topics = 3
                [upgrade]
                ready_timeout_ms = 200
                [admin]
                listen = "127.0.0.1:9"
                [tls]
                min_version = "1.3"
                [http]
                max_header_count = 10
                [websocket]
                max_frame_size = 1000
                [log]
                level = "debug"
                """, source: "test")
        #expect(configuration.server.maxConnections == 7)
        #expect(configuration.channels.maxTopics == 3)
        #expect(configuration.upgrade.readyTimeoutMilliseconds == 200)
        #expect(configuration.admin.listen.port == 9)
        #expect(configuration.tls.minimumVersion == "1.3")
        #expect(configuration.http.maxHeaderCount == 10)
        #expect(configuration.websocket.maxFrameBytes == 1000)
        #expect(configuration.log.level == "debug")
    }

    @Test func sectionsHandTheirLimitsToTheLayers() throws {
        let defaults = Configuration()
        #expect(defaults.http.limits == HTTPLimits())
        #expect(defaults.websocket.limits == WebSocketLimits())
        #expect(defaults.channels.socketLimits == ChannelSocketLimits())
        var configuration = Configuration()
        try configuration.apply(environment: [
            "HOLDFAST_HTTP_MAX_HEADER_COUNT": "10", "HOLDFAST_HTTP_MAX_BODY_BYTES": "0",
            "HOLDFAST_WEBSOCKET_MAX_FRAME_SIZE": "1000", "HOLDFAST_WEBSOCKET_MAX_MESSAGE_SIZE": "2000",
            "HOLDFAST_CHANNELS_MAX_TOPICS": "3", "HOLDFAST_CHANNELS_RATE_LIMIT_WINDOW_MS": "500",
            "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "4", "HOLDFAST_WEBSOCKET_DEFLATE_LEVEL": "2",
            "HOLDFAST_WEBSOCKET_PERMESSAGE_DEFLATE": "false",
        ])
        #expect(configuration.http.limits == HTTPLimits(maxHeaderCount: 10, maxBodyBytes: 0))
        #expect(configuration.websocket.limits == WebSocketLimits(maxFrameSize: 1000, maxMessageSize: 2000))
        #expect(
            configuration.channels.socketLimits
                == ChannelSocketLimits(maxTopics: 3, maxMessagesPerWindow: 4, rateWindowMilliseconds: 500))
        #expect(configuration.websocket.deflate.compressionLevel == 2)
        #expect(!configuration.websocket.deflate.enabled)
    }

    /// toml++ 3.4 (inside TOMLKit) asserts, and in release builds assumes, that a table header starts with a key
    /// and that an array element starts a value; these used to abort the process (found by the config fuzz
    /// target: Fuzz/Corpus/config/header-without-key and array-element-brace). Each must be an invalidTOML error
    /// naming the line.
    @Test func malformedHeadersAndArrayElementsAreErrorsNotAborts() {
        let header = TOMLPrecheck.headerReason
        let element = TOMLPrecheck.elementReason
        let documents: [(text: String, line: Int, reason: String)] = [
            ("[\u{06}", 1, header), ("[=", 1, header), ("[ .", 1, header), ("[[{]]", 1, header), ("[\n", 1, header),
            ("[\u{E9}]", 1, header), ("\u{FEFF}[#", 1, header),
            ("# comment\n[server]\nlisten = \"127.0.0.1:1\"\n  [\t=", 4, header),
            ("a = [}", 1, element), ("a = [1, }", 1, element), ("a = [ # c\n }", 2, element),
            ("a = [\u{2028}]", 1, element), ("a = [\r\n}", 2, element), ("[server]\nx = [[1], [\n\n}]]", 4, element),
        ]
        for document in documents {
            var configuration = Configuration()
            #expect(
                throws: ConfigurationError.invalidTOML(
                    path: "test", reason: "line \(document.line): \(document.reason)")
            ) {
                try configuration.apply(toml: document.text, source: "test")
            }
        }
    }

    /// Brackets in strings and comments, multi-line arrays and every kind of value are left alone.
    @Test func tomlPrecheckLeavesValidTOMLAlone() {
        let valid = [
            "[server]\nallowed_origins = [\n  [ [1] ],\n  [+1],\n  [{ a = 1 }], # [=\n]\n",
            "[\"quoted key\"]\n['literal']\n[[array.of.tables]]\n[ spaced . key ]\n[a.\"b]\".c]\n",
            "a = \"\"\"\n[=\n\"\"\"\"\nb = '''\n[=\n'''\nc = \"[\" # [=\n",
            "a = \"\\\"\"\n[b]\n",
            "a = [1, -2, +3, 1.5, inf, nan, true, false, \"s\", 's', 1979-05-27, [ ], { }, ]\nb = { c = [1, 2] }\n",
            "a = [\r\n  1,\r\n  # c\r\n  2\r\n]\r\n",
        ]
        for text in valid { #expect(TOMLPrecheck.firstFinding(in: text) == nil, "\(text)") }
    }
}
