import HoldfastChannels
import HoldfastJSON
import HoldfastTestSupport
import Testing

private func decode(_ text: String, _ version: PhoenixSerializerVersion) throws(PhoenixDecodeError) -> PhoenixMessage {
    try PhoenixSerializer.decode(Array(text.utf8), version: version)
}

private func frame(_ build: (inout [UInt8]) -> Void) -> String {
    var output: [UInt8] = []
    build(&output)
    return String(decoding: output, as: UTF8.self)
}

private let body = JSONValue.object([JSONMember("body", .string("hi"))])

@Suite struct PhoenixSerializerTests {
    @Test func negotiatesTheVersionLikePhoenix() {
        #expect(PhoenixSerializerVersion(vsn: nil) == .v1)
        #expect(PhoenixSerializerVersion(vsn: "1.0.0") == .v1)
        #expect(PhoenixSerializerVersion(vsn: "2.0.0") == .v2)
        #expect(PhoenixSerializerVersion(vsn: "2.0.3") == .v2)
        for bad in ["3.0.0", "2.1.0", "2", "2.0", "abc", "", "2.0.0.0", "2..0", "-2.0.0", "2.0.99999999999999999999"] {
            #expect(PhoenixSerializerVersion(vsn: Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test func decodesV2Frames() throws {
        #expect(
            try decode(#"["1","2","room:lobby","phx_join",{}]"#, .v2)
                == PhoenixMessage(joinRef: "1", ref: "2", topic: "room:lobby", event: "phx_join", payload: .emptyObject))
        #expect(
            try decode(#"[null,"3","phoenix","heartbeat",{}]"#, .v2)
                == PhoenixMessage(joinRef: nil, ref: "3", topic: "phoenix", event: "heartbeat", payload: .emptyObject))
        // Phoenix matches [join_ref, ref, topic, event, payload | _]: extra elements are ignored.
        #expect(try decode(#"[null,null,"t","e",1,"extra"]"#, .v2).payload == .integer(1))
        // Integer refs are kept apart from string refs, so they go back out as the integers they were.
        #expect(try decode(#"[7,8,"t","e",{}]"#, .v2).ref != "8")
        #expect(PhoenixRef.json(try decode(#"[7,8,"t","e",{}]"#, .v2).ref) == .integer(8))
        #expect(PhoenixRef.json(try decode(#"[7,"8","t","e",{}]"#, .v2).ref) == .string("8"))
    }

    @Test func decodesV1Frames() throws {
        #expect(
            try decode(#"{"topic":"room:lobby","event":"new_msg","payload":{"body":"hi"},"ref":"5"}"#, .v1)
                == PhoenixMessage(joinRef: nil, ref: "5", topic: "room:lobby", event: "new_msg", payload: body))
        #expect(try decode(#"{"topic":"t","event":"e","payload":{},"ref":null,"join_ref":"1"}"#, .v1).joinRef == "1")
    }

    @Test func rejectsFramesThatAreNotMessages() {
        let cases: [(String, PhoenixSerializerVersion, PhoenixDecodeError)] = [
            ("[1,2", .v2, .notJSON(.unexpectedEnd)),
            (#"{"a":1}"#, .v2, .wrongShape("expected a JSON array")),
            (#"[null,null,"t","e"]"#, .v2, .wrongShape("expected 5 elements, got 4")),
            (#"[null,null,1,"e",{}]"#, .v2, .wrongShape("topic must be a string")),
            (#"[null,null,"t",null,{}]"#, .v2, .wrongShape("event must be a string")),
            (#"[{},null,"t","e",{}]"#, .v2, .wrongShape("join_ref must be a string or null")),
            (#"[null,1.5,"t","e",{}]"#, .v2, .wrongShape("ref must be a string or null")),
            (#"["t"]"#, .v1, .wrongShape("expected a JSON object")),
            (#"{"topic":"t","event":"e","payload":{}}"#, .v1, .wrongShape("missing key \"ref\"")),
            (#"{"topic":"t","event":"e","ref":"1"}"#, .v1, .wrongShape("missing key \"payload\"")),
        ]
        for (text, version, error) in cases {
            #expect(throws: error, "\(text)") { try decode(text, version) }
        }
        let deep = "[null,null,\"t\",\"e\"," + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "]"
        #expect(throws: PhoenixDecodeError.notJSON(.tooDeep(limit: 64))) { try decode(deep, .v2) }
    }

    @Test func writesV2GoldenFrames() {
        let push = PhoenixMessage(joinRef: "1", ref: nil, topic: "room:lobby", event: "new_msg", payload: body)
        #expect(frame { PhoenixSerializer.encode(push, version: .v2, into: &$0) } == #"["1",null,"room:lobby","new_msg",{"body":"hi"}]"#)
        #expect(
            frame {
                PhoenixSerializer.encodeReply(
                    joinRef: "1", ref: "2", topic: "room:lobby", status: "ok", response: .emptyObject, version: .v2, into: &$0)
            } == #"["1","2","room:lobby","phx_reply",{"response":{},"status":"ok"}]"#)
        #expect(
            frame { PhoenixSerializer.encodeBroadcast(topic: "room:lobby", event: "new_msg", payload: body, version: .v2, into: &$0) }
                == #"[null,null,"room:lobby","new_msg",{"body":"hi"}]"#)
    }

    @Test func envelopesWrapAPayloadEncodedOnceIntoTheFrameOfThePush() {
        for version in [PhoenixSerializerVersion.v1, .v2] {
            let push = PhoenixMessage(joinRef: "7", ref: nil, topic: "room:\"q\"", event: "presence_state", payload: body)
            let (head, tail) = PhoenixSerializer.envelope(joinRef: "7", topic: "room:\"q\"", event: "presence_state", version: version)
            #expect(String(decoding: head + JSON.encode(body) + tail, as: UTF8.self) == frame { PhoenixSerializer.encode(push, version: version, into: &$0) })
        }
        #expect(String(decoding: PhoenixSerializer.envelope(joinRef: nil, topic: "t", event: "e", version: .v2).head, as: UTF8.self) == #"[null,null,"t","e","#)
    }

    @Test func writesV1GoldenFramesWithoutJoinRef() {
        let push = PhoenixMessage(joinRef: "1", ref: nil, topic: "room:lobby", event: "new_msg", payload: body)
        #expect(
            frame { PhoenixSerializer.encode(push, version: .v1, into: &$0) }
                == #"{"event":"new_msg","payload":{"body":"hi"},"ref":null,"topic":"room:lobby"}"#)
        #expect(
            frame {
                PhoenixSerializer.encodeReply(
                    joinRef: nil, ref: "4", topic: "phoenix", status: "ok", response: .emptyObject, version: .v1, into: &$0)
            } == #"{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"4","topic":"phoenix"}"#)
        #expect(
            frame { PhoenixSerializer.encodeBroadcast(topic: "room:lobby", event: "new_msg", payload: body, version: .v1, into: &$0) }
                == #"{"event":"new_msg","payload":{"body":"hi"},"ref":null,"topic":"room:lobby"}"#)
    }

    @Test func encodesActionsThatSendFramesOnly() {
        var output: [UInt8] = []
        #expect(!PhoenixSerializer.encode(ChannelAction.log("x"), version: .v2, into: &output))
        #expect(output.isEmpty)
        let reply = ChannelAction.reply(joinRef: nil, ref: "1", topic: "phoenix", status: "ok", response: .emptyObject)
        #expect(PhoenixSerializer.encode(reply, version: .v2, into: &output))
        #expect(String(decoding: output, as: UTF8.self) == #"[null,"1","phoenix","phx_reply",{"response":{},"status":"ok"}]"#)
    }

    @Test func roundTripsThroughBothVersions() throws {
        let message = PhoenixMessage(joinRef: "9", ref: "10", topic: "a\"b", event: "ev\n", payload: body)
        var output: [UInt8] = []
        PhoenixSerializer.encode(message, version: .v2, into: &output)
        #expect(try PhoenixSerializer.decode(output, version: .v2) == message)
        output.removeAll()
        PhoenixSerializer.encode(message, version: .v1, into: &output)
        var withoutJoinRef = message
        withoutJoinRef.joinRef = nil
        #expect(try PhoenixSerializer.decode(output, version: .v1) == withoutJoinRef)
    }

    @Test func decodesBinaryPushes() throws {
        let bytes: [UInt8] = [0, 1, 2, 1, 3] + Array("1".utf8) + Array("12".utf8) + Array("t".utf8) + Array("evt".utf8) + [0xFF, 0]
        let push = try bytes.withUnsafeBytes { try PhoenixSerializer.decodeBinary($0) }
        #expect(push == BinaryPush(joinRef: "1", ref: "12", topic: "t", event: "evt", payload: [0xFF, 0]))
        let empty: [UInt8] = [0, 0, 0, 1, 1, 0x74, 0x65]
        #expect(try empty.withUnsafeBytes { try PhoenixSerializer.decodeBinary($0) } == BinaryPush(joinRef: nil, ref: nil, topic: "t", event: "e", payload: []))
    }

    @Test func rejectsBadBinaryFrames() {
        let cases: [[UInt8]] = [[], [0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 5, 0, 0x74], [0, 0, 0, 1, 0, 0xFF], [0, 255, 255, 255, 255]]
        for bytes in cases {
            #expect(throws: PhoenixDecodeError.self, "\(bytes)") { try bytes.withUnsafeBytes { try PhoenixSerializer.decodeBinary($0) } }
        }
        var generator = SplitMix(seed: 7)
        for _ in 0..<5000 {
            let bytes = (0..<Int(generator.next() % 24)).map { _ in UInt8(truncatingIfNeeded: generator.next() % 8) }
            _ = try? bytes.withUnsafeBytes { try PhoenixSerializer.decodeBinary($0) }
        }
    }
}
