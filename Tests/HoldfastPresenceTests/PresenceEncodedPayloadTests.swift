import HoldfastJSON
import HoldfastPresence
import Testing

/// `encodedStatePayload()` writes the `presence_state` bytes without building the value tree; they must be the
/// encoding of `statePayload()` in every shape the state takes.
@Suite struct PresenceEncodedPayloadTests {
    static func expectSameBytes(_ state: PresenceState, sourceLocation: SourceLocation = #_sourceLocation) {
        let encoded = state.encodedStatePayload()
        #expect(encoded == JSON.encode(state.statePayload()), sourceLocation: sourceLocation)
        #expect((try? JSON.parse(encoded)) == state.statePayload(), sourceLocation: sourceLocation)
    }

    @Test func emptyStateIsAnEmptyObject() {
        let state = PresenceState(refPrefix: "g1.")
        #expect(state.encodedStatePayload() == Array("{}".utf8))
        Self.expectSameBytes(state)
    }

    @Test func keysWithSeveralMetasStayTogetherAtTheirOldestMeta() {
        var state = PresenceState(refPrefix: "g1.")
        _ = state.track(owner: 1, key: "alice", meta: device("phone"))
        _ = state.track(owner: 2, key: "bob", meta: device("desk"))
        _ = state.track(owner: 3, key: "alice", meta: device("laptop"))
        _ = state.track(owner: 4, key: "carol", meta: .emptyObject)
        _ = state.track(owner: 5, key: "bob", meta: device("tablet"))
        _ = state.track(owner: 6, key: "alice", meta: device("watch"))
        Self.expectSameBytes(state)
        let keys = (try? JSON.parse(state.encodedStatePayload()))?.objectMembers?.map(\.key)
        #expect(keys == ["alice", "bob", "carol"])
    }

    @Test func leavesUpdatesAndRejoinsMatchTheTree() {
        var state = PresenceState(refPrefix: "g1.")
        for owner in 0..<40 {
            _ = state.track(owner: PresenceOwner(owner), key: "u\(owner % 13)", meta: device("d\(owner)"))
        }
        _ = state.takeDiff()
        for owner in stride(from: 0, to: 40, by: 3) {
            _ = state.untrack(owner: PresenceOwner(owner), key: "u\(owner % 13)")
        }
        for owner in stride(from: 1, to: 40, by: 5) {
            _ = state.update(owner: PresenceOwner(owner), key: "u\(owner % 13)", meta: device("moved\(owner)"))
        }
        state.untrackAll(owner: 7)
        _ = state.track(owner: 3, key: "u3", meta: device("back"))  // rejoins at the end of tracking order
        Self.expectSameBytes(state)
    }

    @Test func escapesAndNestedValuesMatchTheEncoder() {
        var state = PresenceState(refPrefix: "g\"1\\.")
        let meta = JSONValue.object([
            JSONMember("name", .string("quote \" backslash \\ newline \n tab \t é ✓")),
            JSONMember("n", .integer(-42)), JSONMember("x", .double(1.5)), JSONMember("ok", .bool(true)),
            JSONMember("none", .null),
            JSONMember("list", .array([.integer(1), .object([JSONMember("a", .string("b"))])])),
        ])
        _ = state.track(owner: 1, key: "ke\"y\u{1}", meta: meta)
        _ = state.update(owner: 1, key: "ke\"y\u{1}", meta: meta)
        _ = state.track(owner: 2, key: "ke\"y\u{1}", meta: meta)
        Self.expectSameBytes(state)
    }
}
