import HoldfastJSON
import Testing

@testable import HoldfastPresence

/// A room of thousands keeps one meta per member, and indexes it compactly.
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

    @Test func anOwnerOfOneKeyIsIndexedByItsRefAlone() {
        var state = PresenceState(refPrefix: "p.")
        let a = state.track(owner: 1, key: "alice", meta: .object([JSONMember("device", .string("phone"))]))
        #expect(state.byOwner[1] == a && state.byOwnerMany.isEmpty)
        #expect(state.meta(owner: 1, key: "alice")?.ref == a)
        #expect(state.meta(owner: 1, key: "alice")?.meta == .object([JSONMember("device", .string("phone"))]))
        #expect(state.meta(owner: 1, key: "bob") == nil && state.ref(owner: 2, key: "alice") == nil)
        // A second key moves the owner to the multi-key index; dropping it moves the owner back.
        let b = state.track(owner: 1, key: "bob", meta: .null)
        #expect(state.byOwner[1] == nil && state.byOwnerMany[1] == ["alice": a, "bob": b])
        state.untrack(owner: 1, key: "alice")
        #expect(state.byOwner[1] == b && state.byOwnerMany.isEmpty)
        #expect(state.metaCount(forKey: "alice") == 0 && state.metaCount(forKey: "bob") == 1)
        let c = state.track(owner: 2, key: "bob", meta: .null)
        #expect(state.metaCount(forKey: "bob") == 2 && state.metaCountsByKey == ["bob": 2])
        state.untrackAll(owner: 1)
        #expect(state.byOwner == [2: c] && state.metaCountsByKey == ["bob": 1])
    }
}
