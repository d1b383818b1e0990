import Glibc
import HoldfastJSON

/// Who this process is in the cluster: the node name and the instance token stored under `hf:node:{name}`.
///
/// A binary upgrade hands the record to the new process (``encoded()``, ``init(decoding:)``), which then holds the
/// same name under the same token: Redis sees one node continue, not one leave and another arrive.
public struct NodeRecord: Sendable, Equatable {
    /// The node name (`cluster.node_name`).
    public var name: String
    /// Unique per process start: host, process id and 64 random bits, so a refusal can say who holds a name.
    public var token: String

    /// A record with a given token (tests, imports).
    public init(name: String, token: String) {
        self.name = name
        self.token = token
    }

    /// A record with a new token for this process.
    public static func fresh(name: String) -> NodeRecord {
        var host = [CChar](repeating: 0, count: 256)
        let hostName =
            gethostname(&host, host.count) == 0
            ? String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
        let random = String(UInt64.random(in: .min ... .max), radix: 16)
        return NodeRecord(name: name, token: "\(hostName):\(getpid()):\(random)")
    }

    /// The record as bytes for the handoff.
    public func encoded() -> [UInt8] {
        JSON.encode(.object([JSONMember("name", .string(name)), JSONMember("token", .string(token))]))
    }

    /// A record from ``encoded()``.
    ///
    /// - Throws: ``NodeRecordDecodingError/malformed`` for anything else.
    public init(decoding bytes: [UInt8]) throws(NodeRecordDecodingError) {
        guard let value = try? JSON.parse(bytes), let name = value["name"]?.stringValue,
            let token = value["token"]?.stringValue, !name.isEmpty, !token.isEmpty
        else { throw .malformed }
        self.init(name: name, token: token)
    }
}

/// Why bytes are not a ``NodeRecord``.
public enum NodeRecordDecodingError: Error, Sendable, Equatable {
    /// Not a record written by ``NodeRecord/encoded()``.
    case malformed
}
