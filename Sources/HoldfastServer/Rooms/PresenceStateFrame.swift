import HoldfastChannels

/// A `presence_state` push built around a payload encoded once for many recipients: only the envelope (the
/// member's join_ref) differs per member, so a burst of joiners costs one JSON encode of the state.
enum PresenceStateFrame {
    static func text(topic: String, joinRef: String?, payload: [UInt8], version: PhoenixSerializerVersion) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(payload.count + topic.utf8.count + 64)
        let joinRefJSON: JSONValue = joinRef.map { .string($0) } ?? .null
        switch version {
        case .v2:
            text.append(UInt8(ascii: "["))
            JSON.encode(joinRefJSON, into: &text)
            text.append(contentsOf: Array(",null,".utf8))
            JSON.encode(.string(topic), into: &text)
            text.append(contentsOf: Array(",\"presence_state\",".utf8))
            text.append(contentsOf: payload)
            text.append(UInt8(ascii: "]"))
        case .v1:
            // Serializer 1.0.0 carries no join_ref; keys in the order the serializer writes them.
            text.append(contentsOf: Array("{\"event\":\"presence_state\",\"payload\":".utf8))
            text.append(contentsOf: payload)
            text.append(contentsOf: Array(",\"ref\":null,\"topic\":".utf8))
            JSON.encode(.string(topic), into: &text)
            text.append(UInt8(ascii: "}"))
        }
        return text
    }
}
