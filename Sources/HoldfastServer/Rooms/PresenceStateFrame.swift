import HoldfastChannels
import HoldfastJSON
import HoldfastWebSocket

/// `presence_state` pushes built around a payload encoded once for many recipients: only the envelope (the
/// member's join_ref) differs per member, so a burst of joiners costs one JSON encode of the state, and members
/// that negotiated deflate without context takeover share one compression of it too.
struct PresenceStateFrame {
    private let topic: String
    /// The rest of the message after the per-member envelope, per serializer version.
    private let v1Body: SharedDeflate
    private let v2Body: SharedDeflate

    init(topic: String, payload: [UInt8], deflateLevel: Int) {
        self.topic = topic
        var v2 = payload
        v2.append(UInt8(ascii: "]"))
        v2Body = SharedDeflate(body: v2, level: deflateLevel)
        // Serializer 1.0.0 carries no join_ref; keys in the order the serializer writes them.
        var v1 = payload
        v1.append(contentsOf: Array(",\"ref\":null,\"topic\":".utf8))
        JSON.encode(.string(topic), into: &v1)
        v1.append(UInt8(ascii: "}"))
        v1Body = SharedDeflate(body: v1, level: deflateLevel)
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
