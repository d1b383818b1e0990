public import HoldfastChannels

/// One connection's join of a room, as the room's state knows it: who, which join, which serializer.
///
/// The connection itself is not here: actions name members, and the server delivers to the member's connection.
public struct Member: Sendable, Hashable {
    /// The Phoenix connection's id, unique across the server (and across a binary upgrade).
    public var connectionID: UInt64
    /// The presence key: the authenticated user.
    public var user: String
    /// The join's `join_ref`: replies and pushes for an older join of the same connection are dropped.
    public var joinRef: String?
    /// The connection's serializer, so a broadcast is encoded only for versions someone reads.
    public var version: PhoenixSerializerVersion

    public init(connectionID: UInt64, user: String, joinRef: String?, version: PhoenixSerializerVersion) {
        self.connectionID = connectionID
        self.user = user
        self.joinRef = joinRef
        self.version = version
    }
}
