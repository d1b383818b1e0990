import Glibc
import HoldfastCore

extension Configuration {
    /// `[cluster]`: several nodes sharing rooms, presence and history through Redis (docs/cluster.md). An empty
    /// `redis_url` keeps the node on its own, exactly as without this section.
    public struct ClusterSection: Sendable {
        /// `redis://[[user]:password@]host[:port][/db]`; empty means a single node. Checked when applied, so a
        /// value that is set always parses (``redis``).
        public var redisURL = ""
        /// This node's name in the cluster; empty means the host name and the client listener's port.
        public var nodeName = ""
        /// A node whose heartbeat is older than this is dead: its members leave everyone's view.
        public var nodeTimeoutMilliseconds: Int64 = 5_000

        /// Whether clustering is switched on.
        public var isEnabled: Bool { !redisURL.isEmpty }

        /// The parsed `redis_url`; nil for a single node.
        public var redis: RedisURL? { redisURL.isEmpty ? nil : try? RedisURL(parsing: redisURL) }
    }

    /// The node name in force: `cluster.node_name`, or `hostName:port` of the client listener.
    public func clusterNodeName(hostName: String = Configuration.hostName()) -> String {
        cluster.nodeName.isEmpty ? "\(hostName):\(server.listen.port)" : cluster.nodeName
    }

    /// This machine's host name (`gethostname`), or `localhost` if it has none.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    /// Whether `name` may name a node: it becomes part of Redis keys and channel names.
    static func isValidNodeName(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
                    UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }
}

extension ConfigurationKey {
    /// `cluster.redis_url`: empty, or a `redis://` URL that parses. `rediss://` is refused here, at start, because
    /// the hiredis this build links has no TLS; the error never repeats the password.
    static func redisURL() -> ConfigurationKey {
        ConfigurationKey(
            "cluster", "redis_url",
            expected: "redis://[[user]:password@]host[:port][/db], or empty for a single node; rediss:// (TLS) is not "
                + "supported because this build's hiredis 0.14 has no TLS: see docs/cluster.md",
            redact: { text in (try? RedisURL(parsing: text))?.description ?? "(not shown: may hold a password)" }
        ) { configuration, text in
            guard !text.isEmpty else {
                configuration.cluster.redisURL = ""
                return true
            }
            guard let url = try? RedisURL(parsing: text), url.scheme == .redis else { return false }
            configuration.cluster.redisURL = text
            return true
        }
    }

    /// `cluster.node_name`: empty (the default name) or 1 to 128 of `A-Z a-z 0-9 . _ : -`.
    static func nodeName() -> ConfigurationKey {
        ConfigurationKey(
            "cluster", "node_name",
            expected: "empty, or 1 to 128 characters of A-Z a-z 0-9 . _ : - (it becomes part of Redis keys)"
        ) { configuration, text in
            guard text.isEmpty || Configuration.isValidNodeName(text) else { return false }
            configuration.cluster.nodeName = text
            return true
        }
    }
}
