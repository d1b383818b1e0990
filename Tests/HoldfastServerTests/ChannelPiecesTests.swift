import HoldfastBytes
import HoldfastChannels
import HoldfastHTTP
import HoldfastJSON
import HoldfastPresence
import HoldfastWeb
import HoldfastWebSocket
import Testing

@testable import HoldfastServer

@Suite struct ChannelPiecesTests {
    @Test func presenceStateFramesMatchTheSerializerForBothVersions() throws {
        func entry(_ key: String, _ ref: String) -> JSONMember {
            JSONMember(key, .object([JSONMember("metas", .array([.object([JSONMember("phx_ref", .string(ref))])]))]))
        }
        func chunk(_ members: [JSONMember]) -> SharedBytes { SharedBytes(Array(JSON.encode(.object(members)).dropFirst().dropLast())) }
        let alice = entry("alice", "r1"), bob = entry("b\"ob", "r2"), carol = entry("carol", "r3")
        // The room's own state in kept chunks (none, one, several), and a cluster's merged view of it.
        let cases: [(EncodedPresenceState, (([UInt8]) -> [UInt8])?, JSONValue)] = [
            (EncodedPresenceState(chunks: []), nil, .emptyObject),
            (EncodedPresenceState(chunks: [chunk([alice])]), nil, .object([alice])),
            (EncodedPresenceState(chunks: [chunk([alice, bob]), chunk([carol])]), nil, .object([alice, bob, carol])),
            (EncodedPresenceState(chunks: [chunk([alice])]), { _ in JSON.encode(.object([alice, carol])) }, .object([alice, carol])),
        ]
        // One frame for a run of members: repeated, alternating and returning join_refs and versions.
        let members: [(String?, PhoenixSerializerVersion)] = [
            (nil, .v1), (nil, .v2), ("7", .v1), ("7", .v1), ("7", .v2), ("7", .v2), (nil, .v2), ("1", .v2), ("7", .v1),
        ]
        for (payload, merge, state) in cases {
            var frame = PresenceStateFrame(topic: "room:a\"b", payload: payload, merge: merge, deflateLevel: 6)
            var previous: (String?, PhoenixSerializerVersion, [UInt8])?
            for (joinRef, version) in members {
                var expected: [UInt8] = []
                let message = PhoenixMessage(joinRef: joinRef, ref: nil, topic: "room:a\"b", event: "presence_state", payload: state)
                PhoenixSerializer.encode(message, version: version, into: &expected)
                let (prefix, body) = frame.message(joinRef: joinRef, version: version)
                #expect(prefix + body.body == expected, "\(version) \(String(describing: joinRef))")
                #expect(body.bodyCount == body.body.count)
                if let previous, previous.0 == joinRef, previous.1 == version {  // the same envelope: one buffer
                    #expect(prefix.withUnsafeBufferPointer { $0.baseAddress } == previous.2.withUnsafeBufferPointer { $0.baseAddress })
                }
                previous = (joinRef, version, prefix)
            }
        }
    }

    @Test func queryStringsDecodePercentEscapesAndPlus() {
        let params = QueryString.parse("token=a%2Bb%3D&vsn=2.0.0&user_id=two+words&empty=&flag&bad=%zz&token=last")
        #expect(params["vsn"] == "2.0.0")
        #expect(params["user_id"] == "two words")
        #expect(params["empty"] == "")
        #expect(params["flag"] == "")
        #expect(params["bad"] == "%zz")
        #expect(params["token"] == "last")  // the last value wins, as in Plug
        #expect(QueryString.decode("%E2%9C%93") == "✓")
        #expect(QueryString.decode("%ff") == "\u{FFFD}")
    }

    @Test func adminTokenTextIsLowercaseHex() {
        #expect(AdminToken.text(fromStored: [0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
    }
}
