public import HoldfastJSON

/// One meta of one node in a room: stored as hash field `node|phx_ref` with value `{"key": K, "meta": M}`.
public struct ClusterPresenceEntry: Sendable, Equatable {
    /// The node whose member tracked it.
    public var node: String
    /// Its `phx_ref` (taken from `meta`).
    public var ref: String
    /// The presence key, such as a user id.
    public var key: String
    /// The meta as clients see it: an object with `phx_ref` (and `phx_ref_prev` after an update).
    public var meta: JSONValue

    /// An entry for `meta` of `key` on `node`; nil when `meta` has no string `phx_ref`.
    public init?(node: String, key: String, meta: JSONValue) {
        guard let ref = meta["phx_ref"]?.stringValue, !ref.isEmpty else { return nil }
        self.node = node
        self.ref = ref
        self.key = key
        self.meta = meta
    }

    /// The entry a stored value (or a bus message element) `{"key": K, "meta": M}` of `node` describes.
    public init?(node: String, value: JSONValue) {
        guard let key = value["key"]?.stringValue, let meta = value["meta"], case .object = meta else { return nil }
        self.init(node: node, key: key, meta: meta)
    }

    /// The entry under hash field `field` (`node|phx_ref`) with stored value `bytes`; nil when either is malformed
    /// or the field's ref is not the meta's.
    public init?(field: String, value bytes: [UInt8]) {
        guard let bar = field.firstIndex(of: "|"), let value = try? JSON.parse(bytes) else { return nil }
        self.init(node: String(field[..<bar]), value: value)
        guard self.field == field else { return nil }
    }

    /// The hash field: `node|phx_ref`. Node names cannot hold `|` (see the `cluster.node_name` rule).
    public var field: String { Self.field(node: node, ref: ref) }

    /// The hash field of `ref` on `node`.
    public static func field(node: String, ref: String) -> String { node + "|" + ref }

    /// The stored value, `{"key": K, "meta": M}`.
    public var value: JSONValue { .object([JSONMember("key", .string(key)), JSONMember("meta", meta)]) }

    /// The stored value's bytes.
    public var encodedValue: [UInt8] { JSON.encode(value) }
}
