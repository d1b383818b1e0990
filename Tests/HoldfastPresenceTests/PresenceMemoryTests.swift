import HoldfastJSON
import Testing

@testable import HoldfastPresence

/// A room of thousands keeps every member's meta twice (its seat and its presence): one shared copy, not two.
@Suite struct PresenceMemoryTests {
    private func storage(_ members: [JSONMember]) -> UnsafeRawPointer? {
        members.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    @Test func aMetaWithoutRefsIsKeptAsTheCallersArray() {
        var state = PresenceState(refPrefix: "p.")
        let members = [JSONMember("device", .string("phone")), JSONMember("online_at", .integer(1))]
        let ref = state.track(owner: 1, key: "alice", meta: .object(members))
        let fields = state.presences[ref]?.fields ?? []
        #expect(fields == members)
        #expect(storage(fields) == storage(members))
    }

    @Test func refsInAMetaAreStillDropped() {
        var state = PresenceState(refPrefix: "p.")
        let members = [JSONMember("phx_ref", .string("x")), JSONMember("device", .string("phone"))]
        let ref = state.track(owner: 1, key: "alice", meta: .object(members))
        #expect(state.presences[ref]?.fields == [JSONMember("device", .string("phone"))])
        #expect(state.statePayload()["alice"]?["metas"] == .array([
            .object([JSONMember("device", .string("phone")), JSONMember("phx_ref", .string(ref))])
        ]))
    }
}
