import HoldfastClusterPresence
import HoldfastJSON
import Testing

@Suite struct ClusterPresenceMessageTests {
    @Test func encodesAndDecodesTheBusPayload() throws {
        let message = ClusterPresenceMessage(
            node: "host:4011", replace: true, joins: [entry("host:4011", "alice", "phone", ref: "x.0")],
            leaves: [entry("host:4011", "bob", "laptop", ref: "x.1")])
        let bytes = message.encoded()
        #expect(try JSON.parse(bytes)["kind"] == .string("presence"))
        #expect(try ClusterPresenceMessage(decoding: bytes) == message)
        #expect(try ClusterPresenceMessage(json: JSON.parse(bytes)) == message)
    }

    @Test func refusesWhatIsNotAPresenceMessageWithTypedErrors() {
        #expect(throws: ClusterPresenceMessageError.wrongKind("new_msg")) {
            try ClusterPresenceMessage(decoding: Array(#"{"kind":"new_msg","node":"a"}"#.utf8))
        }
        #expect(throws: ClusterPresenceMessageError.missingNode) {
            try ClusterPresenceMessage(decoding: Array(#"{"kind":"presence"}"#.utf8))
        }
        #expect(throws: ClusterPresenceMessageError.malformedEntry(side: "joins", index: 1)) {
            try ClusterPresenceMessage(
                decoding: Array(
                    #"{"kind":"presence","node":"a","joins":[{"key":"k","meta":{"phx_ref":"r"}},{"key":"k","meta":{}}]}"#
                        .utf8))
        }
        #expect(throws: ClusterPresenceMessageError.notAnObject) {
            try ClusterPresenceMessage(decoding: Array("[]".utf8))
        }
        #expect(throws: (any Error).self) { try ClusterPresenceMessage(decoding: Array("{".utf8)) }
    }

    @Test func aStoredValueIsOnlyAcceptedUnderItsOwnField() {
        let alice = entry("a", "alice", "phone", ref: "a.0")
        #expect(ClusterPresenceEntry(field: "a|a.0", value: alice.encodedValue) == alice)
        #expect(ClusterPresenceEntry(field: "a|a.1", value: alice.encodedValue) == nil)
        #expect(ClusterPresenceEntry(field: "a.0", value: alice.encodedValue) == nil)
        #expect(ClusterPresenceEntry(field: "a|a.0", value: Array("nope".utf8)) == nil)
    }
}
