import HoldfastChannels
import HoldfastPresence
import HoldfastWebSocket

/// `presence_state` pushes built around a payload encoded once for many recipients: only the envelope (the
/// member's join_ref) differs per member. Members that negotiated deflate without context takeover share one
/// compression, made of the room's kept chunks (a change compresses the ones it rewrote) or, with `merge` (a
/// cluster's view of every node), of the merged payload.
struct PresenceStateFrame {
    private let topic: String
    /// The rest of the message after the per-member envelope, per serializer version.
    private let v1Body: SharedDeflate
    private let v2Body: SharedDeflate

    init(topic: String, payload: EncodedPresenceState, merge: (([UInt8]) -> [UInt8])?, deflateLevel: Int) {
        self.topic = topic
        let merged = merge?(payload.bytes)
        func body(_ version: PhoenixSerializerVersion) -> SharedDeflate {
            let closing = PhoenixSerializer.envelope(joinRef: nil, topic: topic, event: "presence_state", version: version).tail
            if let merged { return SharedDeflate(body: merged + closing, level: deflateLevel) }
            return SharedDeflate(
                pieces: payload.chunks, opening: UInt8(ascii: "{"), separator: UInt8(ascii: ","),
                closing: [UInt8(ascii: "}")] + closing, level: deflateLevel)
        }
        (v1Body, v2Body) = (body(.v1), body(.v2))
    }

    /// The last envelope made, shared by the next members of its join_ref and version: a burst's joiners each held
    /// a 40-byte copy until written, and their frees left an 80-byte hole per member among the burst's live heap.
    private var last: (joinRef: String?, version: PhoenixSerializerVersion, head: [UInt8])?

    /// The envelope for one member (see ``last``) and the shared rest of the message.
    mutating func message(joinRef: String?, version: PhoenixSerializerVersion) -> ([UInt8], SharedDeflate) {
        if last?.joinRef != joinRef || last?.version != version {
            last = (joinRef, version, PhoenixSerializer.envelope(
                joinRef: joinRef, topic: topic, event: "presence_state", version: version).head)
        }
        return (last?.head ?? [], version == .v1 ? v1Body : v2Body)
    }
}
