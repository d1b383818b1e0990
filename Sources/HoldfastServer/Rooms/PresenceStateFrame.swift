import HoldfastChannels
import HoldfastJSON
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
        // Serializer 1.0.0 carries no join_ref; keys in the order the serializer writes them.
        var v1 = Array(",\"ref\":null,\"topic\":".utf8)
        JSON.encode(.string(topic), into: &v1)
        v1.append(UInt8(ascii: "}"))
        let merged = merge?(payload.bytes)
        func body(_ closing: [UInt8]) -> SharedDeflate {
            if let merged { return SharedDeflate(body: merged + closing, level: deflateLevel) }
            return SharedDeflate(
                pieces: payload.chunks, opening: UInt8(ascii: "{"), separator: UInt8(ascii: ","),
                closing: [UInt8(ascii: "}")] + closing, level: deflateLevel)
        }
        (v1Body, v2Body) = (body(v1), body([UInt8(ascii: "]")]))
    }

    /// The envelope for one member and the shared rest of the message.
    func message(joinRef: String?, version: PhoenixSerializerVersion) -> (prefix: [UInt8], body: SharedDeflate) {
        switch version {
        case .v2:
            var prefix: [UInt8] = [UInt8(ascii: "[")]
            JSON.encode(PhoenixRef.json(joinRef), into: &prefix)
            prefix.append(contentsOf: Array(",null,".utf8))
            JSON.encode(.string(topic), into: &prefix)
            prefix.append(contentsOf: Array(",\"presence_state\",".utf8))
            return (prefix, v2Body)
        case .v1:
            return (Array("{\"event\":\"presence_state\",\"payload\":".utf8), v1Body)
        }
    }
}
