public import HoldfastJSON

/// The other nodes of a cluster, as the server API needs them: a disconnect reaches every node, and presence is
/// the room's across nodes. Without peers (a single node) the ``APIBackend`` answers alone.
public protocol APIPeers: Sendable {
    /// Tells every other node to close `user`'s sockets (and, with `notBefore`, to refuse the user's tokens issued
    /// at or before it); each node answers it with ``APIService/peerDisconnect(user:code:reason:notBefore:)``.
    func disconnect(user: String, code: UInt16, reason: String, notBefore: Int64?)

    /// The room's presence on every node, `{key: {"metas": [...]}}`; nil when it cannot be read now.
    func presence(topic: String, completion: @escaping @Sendable (JSONValue?) -> Void)
}
