import HoldfastChannels
import HoldfastJSON
import Testing

@Suite struct PhoenixRefTests {
    @Test func refsGoBackOutWithTheJSONTypeTheyCameIn() throws {
        for value: JSONValue in [
            .null, .string("42"), .integer(42), .integer(-7), .integer(Int64.max), .string(""),
            .string("\u{1}"), .string("\u{1}42"), .string("\u{1}\u{1}x"), .string("né"),
        ] {
            #expect(PhoenixRef.json(try PhoenixRef.decode(value, name: "ref")) == value)
        }
    }

    @Test func theIntegerAndTheStringOfTheSameDigitsAreDifferentRefs() throws {
        let number = try PhoenixRef.decode(.integer(42), name: "ref")
        let text = try PhoenixRef.decode(.string("42"), name: "ref")
        #expect(number != text)
        #expect(text == "42")  // ordinary string refs are kept as they are
        #expect(try PhoenixRef.decode(.string("\u{1}42"), name: "ref") != number)
    }

    @Test func otherJSONTypesAreRefused() {
        for value: JSONValue in [.double(1.5), .bool(true), .array([]), .object([])] {
            #expect(throws: PhoenixDecodeError.wrongShape("ref must be a string or null")) {
                try PhoenixRef.decode(value, name: "ref")
            }
        }
    }

    @Test func aReplyEchoesAnIntegerRefAsAnInteger() throws {
        let push = try PhoenixSerializer.decode(Array(#"[1,2,"room:a","new_msg",{}]"#.utf8), version: .v2)
        for (version, expected) in [
            (PhoenixSerializerVersion.v2, #"[1,2,"room:a","phx_reply",{"response":{},"status":"ok"}]"#),
            (.v1, #"{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":2,"topic":"room:a"}"#),
        ] {
            var out: [UInt8] = []
            PhoenixSerializer.encodeReply(
                joinRef: push.joinRef, ref: push.ref, topic: push.topic, status: "ok", response: .emptyObject,
                version: version, into: &out)
            #expect(String(decoding: out, as: UTF8.self) == expected)
        }
    }
}
