public import HoldfastJSON

/// Phoenix's JSON serializers (`Phoenix.Socket.V1.JSONSerializer`, `V2.JSONSerializer`) for Holdfast.
///
/// Output matches Phoenix byte for byte: v2 frames are `[join_ref,ref,topic,event,payload]`; v1 frames are
/// objects with keys in the order Jason writes Elixir's small maps (sorted: `event`, `payload`, `ref`,
/// `topic`) and no `join_ref`; reply payloads are `{"response":…,"status":…}` in the same sorted order.
public enum PhoenixSerializer {
    /// The deepest JSON nesting accepted in an inbound frame (the frame's own array or object included).
    public static let maxFrameDepth = 64

    /// Decodes a text frame.
    ///
    /// v2: a JSON array of `[join_ref, ref, topic, event, payload]`. Phoenix matches
    /// `[join_ref, ref, topic, event, payload | _]`, so extra trailing elements are ignored here too.
    /// v1: an object with `topic`, `event`, `payload` and `ref` (all required, as `Message.from_map!`
    /// demands) and an optional `join_ref`. Refs may be strings or `null`; integer refs from non-JS clients
    /// are accepted and echoed as integers (see ``PhoenixRef``). Topic and event must be strings.
    /// - Throws: ``PhoenixDecodeError``.
    public static func decode(
        _ frame: UnsafeRawBufferPointer, version: PhoenixSerializerVersion
    ) throws(PhoenixDecodeError) -> PhoenixMessage {
        let value: JSONValue
        do {
            value = try JSON.parse(frame, maxDepth: maxFrameDepth)
        } catch {
            throw .notJSON(error)
        }
        switch version {
        case .v2:
            guard case .array(let fields) = value else { throw .wrongShape("expected a JSON array") }
            guard fields.count >= 5 else { throw .wrongShape("expected 5 elements, got \(fields.count)") }
            return PhoenixMessage(
                joinRef: try ref(fields[0], "join_ref"), ref: try ref(fields[1], "ref"),
                topic: try text(fields[2], "topic"), event: try text(fields[3], "event"), payload: fields[4])
        case .v1:
            guard case .object = value else { throw .wrongShape("expected a JSON object") }
            func field(_ key: String) throws(PhoenixDecodeError) -> JSONValue {
                guard let found = value[key] else { throw .wrongShape("missing key \"\(key)\"") }
                return found
            }
            return PhoenixMessage(
                joinRef: try ref(value["join_ref"] ?? .null, "join_ref"), ref: try ref(field("ref"), "ref"),
                topic: try text(field("topic"), "topic"), event: try text(field("event"), "event"),
                payload: try field("payload"))
        }
    }

    /// Decodes a text frame held in an array; see ``decode(_:version:)-(UnsafeRawBufferPointer,_)``.
    public static func decode(
        _ frame: [UInt8], version: PhoenixSerializerVersion
    ) throws(PhoenixDecodeError) -> PhoenixMessage {
        let result: Result<PhoenixMessage, PhoenixDecodeError> = frame.withUnsafeBytes { bytes in
            Result { () throws(PhoenixDecodeError) -> PhoenixMessage in try decode(bytes, version: version) }
        }
        return try result.get()
    }

    private static func ref(_ value: JSONValue, _ name: String) throws(PhoenixDecodeError) -> String? {
        try PhoenixRef.decode(value, name: name)
    }

    private static func text(_ value: JSONValue, _ name: String) throws(PhoenixDecodeError) -> String {
        guard case .string(let text) = value else { throw .wrongShape("\(name) must be a string") }
        return text
    }

    /// Decodes a v2 binary frame: Phoenix's push layout, byte 0 = kind (0, push), then the byte lengths of
    /// join_ref, ref, topic and event, those four UTF-8 strings, and the rest as the payload.
    /// - Throws: ``PhoenixDecodeError/badBinary(_:)`` for another kind, a truncated frame or invalid UTF-8.
    public static func decodeBinary(_ frame: UnsafeRawBufferPointer) throws(PhoenixDecodeError) -> BinaryPush {
        guard frame.count >= 5 else { throw .badBinary("frame shorter than its 5-byte header") }
        guard frame[0] == 0 else { throw .badBinary("kind \(frame[0]) is not a push (0)") }
        var offset = 5
        func string(_ size: UInt8, _ name: String) throws(PhoenixDecodeError) -> String {
            let end = offset + Int(size)
            guard end <= frame.count else { throw .badBinary("\(name) runs past the end of the frame") }
            let bytes = UnsafeRawBufferPointer(rebasing: frame[offset..<end])
            guard let text = String(validating: bytes, as: UTF8.self) else { throw .badBinary("\(name) is not UTF-8") }
            offset = end
            return text
        }
        let joinRef = try string(frame[1], "join_ref")
        let ref = try string(frame[2], "ref")
        let topic = try string(frame[3], "topic")
        let event = try string(frame[4], "event")
        return BinaryPush(
            joinRef: joinRef.isEmpty ? nil : joinRef, ref: ref.isEmpty ? nil : ref, topic: topic, event: event,
            payload: Array(UnsafeRawBufferPointer(rebasing: frame[offset...])))
    }

    /// Encodes a message as a text frame payload (v2 array or v1 object), appended to `output`.
    ///
    /// v1 drops `join_ref`, as Phoenix's V1 serializer does.
    public static func encode(
        _ message: PhoenixMessage, version: PhoenixSerializerVersion, into output: inout [UInt8]
    ) {
        encodeFrame(
            joinRef: message.joinRef, ref: message.ref, topic: message.topic, event: message.event, version: version,
            into: &output
        ) { output in JSON.encode(message.payload, into: &output) }
    }

    /// Encodes a reply: event `phx_reply`, payload `{"response":response,"status":status}`.
    public static func encodeReply(
        joinRef: String?, ref: String?, topic: String, status: String, response: JSONValue,
        version: PhoenixSerializerVersion, into output: inout [UInt8]
    ) {
        encodeFrame(joinRef: joinRef, ref: ref, topic: topic, event: "phx_reply", version: version, into: &output) {
            output in
            output.append(contentsOf: #"{"response":"#.utf8)
            JSON.encode(response, into: &output)
            output.append(contentsOf: #","status":"#.utf8)
            JSON.appendString(status, to: &output)
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Encodes a broadcast the way Phoenix's fastlane does: no join_ref and no ref (`null` in both), so one
    /// encoding serves every subscriber speaking `version`.
    public static func encodeBroadcast(
        topic: String, event: String, payload: JSONValue, version: PhoenixSerializerVersion,
        into output: inout [UInt8]
    ) {
        encodeFrame(joinRef: nil, ref: nil, topic: topic, event: event, version: version, into: &output) { output in
            JSON.encode(payload, into: &output)
        }
    }

    /// A push's frame without its payload, for a payload encoded once for many members: the bytes before the
    /// payload (with the member's `joinRef` in v2) and after it.
    public static func envelope(
        joinRef: String?, topic: String, event: String, version: PhoenixSerializerVersion
    ) -> (head: [UInt8], tail: [UInt8]) {
        var output: [UInt8] = []
        var split = 0
        encodeFrame(joinRef: joinRef, ref: nil, topic: topic, event: event, version: version, into: &output) {
            split = $0.count
        }
        return (Array(output[..<split]), Array(output[split...]))
    }

    /// Encodes any of the ``ChannelAction`` cases that send a frame; returns false (appending nothing)
    /// for the others.
    public static func encode(
        _ action: ChannelAction, version: PhoenixSerializerVersion, into output: inout [UInt8]
    ) -> Bool {
        switch action {
        case .reply(let joinRef, let ref, let topic, let status, let response):
            encodeReply(
                joinRef: joinRef, ref: ref, topic: topic, status: status, response: response, version: version,
                into: &output)
            return true
        case .push(let message):
            encode(message, version: version, into: &output)
            return true
        case .join, .leave, .handleIn, .closeSocket, .log:
            return false
        }
    }

    private static func encodeFrame(
        joinRef: String?, ref: String?, topic: String, event: String, version: PhoenixSerializerVersion,
        into output: inout [UInt8], payload: (inout [UInt8]) -> Void
    ) {
        switch version {
        case .v2:
            output.append(UInt8(ascii: "["))
            PhoenixRef.append(joinRef, to: &output)
            output.append(UInt8(ascii: ","))
            PhoenixRef.append(ref, to: &output)
            output.append(UInt8(ascii: ","))
            JSON.appendString(topic, to: &output)
            output.append(UInt8(ascii: ","))
            JSON.appendString(event, to: &output)
            output.append(UInt8(ascii: ","))
            payload(&output)
            output.append(UInt8(ascii: "]"))
        case .v1:
            output.append(contentsOf: #"{"event":"#.utf8)
            JSON.appendString(event, to: &output)
            output.append(contentsOf: #","payload":"#.utf8)
            payload(&output)
            output.append(contentsOf: #","ref":"#.utf8)
            PhoenixRef.append(ref, to: &output)
            output.append(contentsOf: #","topic":"#.utf8)
            JSON.appendString(topic, to: &output)
            output.append(UInt8(ascii: "}"))
        }
    }
}
