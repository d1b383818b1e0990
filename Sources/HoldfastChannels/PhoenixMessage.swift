public import HoldfastJSON

/// One Phoenix Channels message: what `Phoenix.Socket.Message` carries on the wire.
///
/// Refs are strings, as phoenix.js sends them; `nil` is JSON `null`. Version 1 frames carry no `join_ref`.
public struct PhoenixMessage: Sendable, Equatable {
    /// The `ref` of the `phx_join` that opened the channel this message belongs to.
    public var joinRef: String?
    /// The client's id for this message; replies echo it.
    public var ref: String?
    /// The topic, for example `room:lobby`.
    public var topic: String
    /// The event, for example `phx_join`, `heartbeat` or an application event.
    public var event: String
    /// The payload; Phoenix clients send objects.
    public var payload: JSONValue

    /// Creates a message.
    public init(joinRef: String?, ref: String?, topic: String, event: String, payload: JSONValue) {
        self.joinRef = joinRef
        self.ref = ref
        self.topic = topic
        self.event = event
        self.payload = payload
    }
}

/// A push sent in a binary frame (v2 only): Phoenix's binary push layout, payload kept as raw bytes.
public struct BinaryPush: Sendable, Equatable {
    /// The join ref; an empty field on the wire reads as `nil`.
    public var joinRef: String?
    /// The ref; an empty field on the wire reads as `nil`.
    public var ref: String?
    /// The topic.
    public var topic: String
    /// The event.
    public var event: String
    /// The payload bytes, uninterpreted.
    public var payload: [UInt8]

    /// Creates a binary push.
    public init(joinRef: String?, ref: String?, topic: String, event: String, payload: [UInt8]) {
        self.joinRef = joinRef
        self.ref = ref
        self.topic = topic
        self.event = event
        self.payload = payload
    }
}

/// The wire format a socket speaks, chosen by the `vsn` query parameter of the WebSocket URL.
public enum PhoenixSerializerVersion: Sendable, Equatable {
    /// `{"topic":…,"event":…,"payload":…,"ref":…}` objects.
    case v1
    /// `[join_ref, ref, topic, event, payload]` arrays, plus binary pushes.
    case v2

    /// The serializer for a `vsn` value, as Phoenix negotiates it.
    ///
    /// Phoenix (`Phoenix.Socket.__connect__`) treats a missing `vsn` as `"1.0.0"` and matches the version
    /// against `~> 1.0.0` (V1 serializer) and `~> 2.0.0` (V2), so `1.0.x` gives v1 and `2.0.x` gives v2.
    /// Anything else (`"3.0.0"`, `"2.1.0"`, `"abc"`) is `nil`: Phoenix refuses the connection.
    public init?(vsn: Substring?) {
        guard let vsn else {
            self = .v1
            return
        }
        let parts = vsn.split(separator: ".", omittingEmptySubsequences: false)
        let numeric = parts.allSatisfy { !$0.isEmpty && $0.utf8.count <= 9 && $0.utf8.allSatisfy { $0 &- 48 < 10 } }
        guard parts.count == 3, numeric
        else { return nil }
        switch (parts[0], parts[1]) {
        case ("1", "0"): self = .v1
        case ("2", "0"): self = .v2
        default: return nil
        }
    }
}
