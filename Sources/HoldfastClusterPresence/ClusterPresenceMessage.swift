public import HoldfastJSON

/// A presence change of one node in one room, as published on the room's bus:
/// `{"kind": "presence", "node": N, "replace": true?, "joins": [V, ...], "leaves": [V, ...]}` where each `V` is an
/// entry's stored value `{"key": K, "meta": M}`. The reap and rewrite scripts build the same text inside Redis by
/// concatenating stored values, so the bytes of a meta never change on their way between nodes.
///
/// `replace` (sent by a node that rewrote its entries after a Redis outage or a stall): `joins` lists *all* the
/// node's entries in the room; receivers drop any other entry of that node.
public struct ClusterPresenceMessage: Sendable, Equatable {
    /// The bus `kind` of presence messages.
    public static let kind = "presence"

    /// The node whose entries changed.
    public var node: String
    /// Whether `joins` is the node's complete set in the room.
    public var replace: Bool
    /// Entries added (or replaced under the same ref).
    public var joins: [ClusterPresenceEntry]
    /// Entries removed.
    public var leaves: [ClusterPresenceEntry]

    /// A message; the entries' own `node` is ignored in favour of `node` when encoding.
    public init(
        node: String, replace: Bool = false, joins: [ClusterPresenceEntry], leaves: [ClusterPresenceEntry]
    ) {
        self.node = node
        self.replace = replace
        self.joins = joins
        self.leaves = leaves
    }

    /// The bus payload.
    public func encoded() -> [UInt8] {
        var members = [JSONMember("kind", .string(Self.kind)), JSONMember("node", .string(node))]
        if replace { members.append(JSONMember("replace", .bool(true))) }
        members.append(JSONMember("joins", .array(joins.map(\.value))))
        members.append(JSONMember("leaves", .array(leaves.map(\.value))))
        return JSON.encode(.object(members))
    }

    /// Decodes a bus payload.
    ///
    /// - Throws: ``ClusterPresenceMessageError``; malformed input never traps.
    public init(decoding bytes: [UInt8]) throws(ClusterPresenceMessageError) {
        let value: JSONValue
        do {
            value = try JSON.parse(bytes)
        } catch {
            throw .notJSON(String(describing: error))
        }
        try self.init(json: value)
    }

    /// Decodes a bus payload the message bus already parsed (it dispatches on `kind`).
    ///
    /// - Throws: ``ClusterPresenceMessageError``.
    public init(json: JSONValue) throws(ClusterPresenceMessageError) {
        guard case .object = json else { throw .notAnObject }
        let kind = json["kind"]?.stringValue
        guard kind == Self.kind else { throw .wrongKind(kind) }
        guard let node = json["node"]?.stringValue, !node.isEmpty else { throw .missingNode }
        func entries(_ side: String) throws(ClusterPresenceMessageError) -> [ClusterPresenceEntry] {
            guard let list = json[side] else { return [] }
            guard case .array(let items) = list else { throw .malformedEntry(side: side, index: -1) }
            var entries: [ClusterPresenceEntry] = []
            entries.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                guard let entry = ClusterPresenceEntry(node: node, value: item) else {
                    throw .malformedEntry(side: side, index: index)
                }
                entries.append(entry)
            }
            return entries
        }
        self.init(
            node: node, replace: json["replace"] == .bool(true), joins: try entries("joins"),
            leaves: try entries("leaves"))
    }
}

/// Why a bus payload is not a presence message. The receiver logs it and drops the payload.
public enum ClusterPresenceMessageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not JSON; the text is the parser's reason.
    case notJSON(String)
    /// JSON, but not an object.
    case notAnObject
    /// Another `kind` (or none): not for presence.
    case wrongKind(String?)
    /// No `node`.
    case missingNode
    /// An element of `joins` or `leaves` is not `{"key": string, "meta": {... "phx_ref": string}}` (index -1: the
    /// side is not an array).
    case malformedEntry(side: String, index: Int)

    public var description: String {
        switch self {
        case .notJSON(let reason): "presence bus message is not JSON: \(reason)"
        case .notAnObject: "presence bus message is not a JSON object"
        case .wrongKind(let kind): "bus message of kind \(kind ?? "(none)") is not a presence message"
        case .missingNode: "presence bus message names no node"
        case .malformedEntry(let side, let index): "presence bus message has a malformed \(side) entry at \(index)"
        }
    }
}
