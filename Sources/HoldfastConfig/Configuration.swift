/// Everything `holdfast serve` can be told, with the embedded defaults of the design, one property per section of
/// `config/holdfast.toml` (`configuration.server.listen` is `[server] listen`).
///
/// Sources override each other in this order: defaults, the TOML file (`--config`), `HOLDFAST_*` environment
/// variables, command-line flags. `config/holdfast.toml` documents every key; ``ConfigurationKey/all`` is the
/// single list of keys that the file, the environment and the documentation test all read.
public struct Configuration: Sendable {
    /// `[server]`: listeners, connection limits and timeouts, state and handlers.
    public var server = ServerSection()
    /// `[channels]`: the Phoenix socket's limits, presence and history.
    public var channels = ChannelsSection()
    /// `[upgrade]`: binary upgrades.
    public var upgrade = UpgradeSection()
    /// `[admin]`: the admin listener.
    public var admin = AdminSection()
    /// `[tls]`: the TLS listener.
    public var tls = TLSSection()
    /// `[http]`: request limits.
    public var http = HTTPSection()
    /// `[websocket]`: frame limits and permessage-deflate.
    public var websocket = WebSocketSection()
    /// `[cluster]`: Redis and this node's name; empty `redis_url` means a single node.
    public var cluster = ClusterSection()
    /// `[log]`: logging.
    public var log = LogSection()
    /// `[api]`: the server API.
    public var api = APISection()
    /// `[webhooks]`: events posted to the application's backend.
    public var webhooks = WebhooksSection()

    /// The embedded defaults.
    public init() {}
}

/// A configuration problem, saying which key or file is wrong and how to fix it.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case unreadableFile(path: String, reason: String)
    case invalidTOML(path: String, reason: String)
    case unknownKey(String, source: String)
    case invalidValue(key: String, value: String, expected: String, source: String)
    /// Two limits that cannot both hold: `key` must be at most (`strictlyBelow`: below) `otherKey`.
    case contradictoryLimits(
        key: String, value: Int, otherKey: String, otherValue: Int, strictlyBelow: Bool, consequence: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            "cannot read config file \(path): \(reason); pass an existing file to --config"
        case .invalidTOML(let path, let reason):
            "config file \(path) is not valid TOML: \(reason)"
        case .unknownKey(let key, let source):
            "unknown config key '\(key)' in \(source); config/holdfast.toml lists every key"
        case .invalidValue(let key, let value, let expected, let source):
            "config key '\(key)' from \(source) has value '\(value)', expected \(expected)"
        case .contradictoryLimits(let key, let value, let otherKey, let otherValue, let strictlyBelow, let consequence):
            "config key '\(key)' (\(value)) must be \(strictlyBelow ? "below" : "at most") '\(otherKey)' "
                + "(\(otherValue)): otherwise \(consequence); lower '\(key)' or raise '\(otherKey)'"
        }
    }
}
