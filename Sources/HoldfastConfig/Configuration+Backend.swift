public import HoldfastCore

extension Configuration {
    /// `[api]`: the server API for the application's backend (publish, presence, history, disconnect).
    public struct APISection: Sendable {
        /// The API listener; nil (an empty value) turns the API off. It is bound only when keys are configured.
        public var listen: SocketAddress? = SocketAddress(host: "127.0.0.1", port: 4002)
        /// The named keys and what each may do.
        public var keys: [APIKeySpec] = []
        /// Largest request body accepted (413 above).
        public var maxBodyBytes = 65_536
        /// Requests per second each key may make on average.
        public var rateLimitPerSecond = 200
        /// Requests a key may make at once after a quiet spell.
        public var rateLimitBurst = 400

        /// Whether the API listener is bound.
        public var isEnabled: Bool { listen != nil && !keys.isEmpty }
    }

    /// `[webhooks]`: events posted to the application's backend.
    public struct WebhooksSection: Sendable {
        /// Where each batch is posted (`http://host:port/path`); empty turns webhooks off.
        public var urls: [String] = []
        /// The HMAC-SHA256 key of `X-Holdfast-Signature`; required when `urls` is set.
        public var secret = ""
        /// Also send `client_message` for every stored chat message.
        public var clientMessages = false
        /// Events are gathered this long into one batch.
        public var batchMilliseconds: Int64 = 100
        /// A delivery attempt gives up after this long.
        public var timeoutMilliseconds: Int64 = 5_000
        /// Retries back off exponentially from 250 ms up to this.
        public var maxBackoffMilliseconds: Int64 = 30_000
        /// The on-disk queue of each URL holds at most this many bytes of batches; the oldest are dropped beyond.
        public var queueMaxBytes = 64 << 20

        /// Whether any webhook is configured.
        public var isEnabled: Bool { !urls.isEmpty }
    }
}

/// A named API key: `name:scopes:secret`, scopes joined by `+` (or `all`).
public struct APIKeySpec: Sendable, Equatable {
    /// What a key may be allowed to do.
    public enum Scope: String, Sendable, CaseIterable {
        case publish, presence, history, disconnect
    }

    /// The key's name: the `user` of messages it publishes, and what the logs and the rate limiter call it.
    public var name: String
    /// The bearer secret.
    public var secret: String
    public var scopes: Set<Scope>

    /// A key from its parts.
    public init(name: String, secret: String, scopes: Set<Scope>) {
        self.name = name
        self.secret = secret
        self.scopes = scopes
    }

    /// Parses `name:scopes:secret`; nil when malformed, a scope is unknown or the secret is under 16 bytes.
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].utf8.count <= 64, parts[2].utf8.count >= 16 else {
            return nil
        }
        var scopes: Set<Scope> = []
        for word in parts[1].split(separator: "+") {
            if word == "all" {
                scopes.formUnion(Scope.allCases)
            } else if let scope = Scope(rawValue: String(word)) {
                scopes.insert(scope)
            } else {
                return nil
            }
        }
        guard !scopes.isEmpty else { return nil }
        self.init(name: String(parts[0]), secret: String(parts[2]), scopes: scopes)
    }
}

extension ConfigurationKey {
    /// The keys of `[api]` and `[webhooks]`.
    static let backendKeys: [ConfigurationKey] = [
        ConfigurationKey("api", "listen", expected: "HOST:PORT with a numeric host, or empty to turn the API off") {
            if $1.isEmpty {
                $0.api.listen = nil
                return true
            }
            guard let address = SocketAddress(parsing: $1) else { return false }
            $0.api.listen = address
            return true
        },
        ConfigurationKey(
            "api", "keys",
            expected: "a list of NAME:SCOPES:SECRET, scopes publish+presence+history+disconnect or all, "
                + "a secret of 16 bytes or more, names unique"
        ) {
            let items = $1.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
            let keys = items.compactMap(APIKeySpec.init(parsing:))
            guard keys.count == items.count, Set(keys.map(\.name)).count == keys.count,
                Set(keys.map(\.secret)).count == keys.count
            else { return false }
            $0.api.keys = keys
            return true
        },
        .integer("api", "max_body_bytes", 256...(16 << 20), \.api.maxBodyBytes),
        .integer("api", "rate_limit_per_second", 1...1_000_000, \.api.rateLimitPerSecond),
        .integer("api", "rate_limit_burst", 1...1_000_000, \.api.rateLimitBurst),
        ConfigurationKey("webhooks", "url", expected: "a list of http:// URLs (comma-separated in the environment)") {
            let urls = $1.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
            guard urls.allSatisfy({ $0.hasPrefix("http://") }) else { return false }
            $0.webhooks.urls = urls
            return true
        },
        .string("webhooks", "secret", \.webhooks.secret),
        .boolean("webhooks", "client_messages", \.webhooks.clientMessages),
        .integer("webhooks", "batch_ms", 10...10_000, \.webhooks.batchMilliseconds),
        .integer("webhooks", "timeout_ms", 100...120_000, \.webhooks.timeoutMilliseconds),
        .integer("webhooks", "max_backoff_ms", 250...3_600_000, \.webhooks.maxBackoffMilliseconds),
        .integer("webhooks", "queue_max_bytes", 65_536...(1 << 34), \.webhooks.queueMaxBytes),
    ]
}
