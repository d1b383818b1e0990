import HoldfastJSON
import Testing

@testable import HoldfastPresence

/// A room of thousands keeps one meta per member, and indexes it compactly.
@Suite struct PresenceMemoryTests {
    private func storage(_ members: [JSONMember]) -> UnsafeRawPointer? {
        members.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    /// The ref of the one meta `owner` tracks, through the owner index's slot number.
    private func soleRef(of owner: PresenceOwner, in state: PresenceState) -> String? {
        state.byOwner[owner].map { state.order[Int($0)].ref }
    }

    @Test func aMetaWithoutRefsIsKeptAsTheCallersArray() {
        var state = PresenceState(refPrefix: "p.")
        let members = [JSONMember("device", .string("phone")), JSONMember("online_at", .integer(1))]
        let ref = state.track(owner: 1, key: "alice", meta: .object(members))
        let fields = state.presence(ref)?.fields ?? []
        #expect(fields == members)
        #expect(storage(fields) == storage(members))
    }

    @Test func metasTrackedOneAfterAnotherThatEncodeAlikeShareOneArray() {
        var state = PresenceState(refPrefix: "p.")
        func meta(_ at: Int64) -> JSONValue {
            .object([JSONMember("device", .string("web")), JSONMember("online_at", .integer(at))])
        }
        func fields(_ ref: String) -> [JSONMember] { state.presence(ref)?.fields ?? [] }
        let a = state.track(owner: 1, key: "alice", meta: meta(1))
        let b = state.track(owner: 2, key: "bob", meta: meta(1))
        let c = state.track(owner: 3, key: "carol", meta: meta(2))
        #expect(storage(fields(a)) == storage(fields(b)) && storage(fields(c)) != storage(fields(a)))
        // A change to one leaves the others' values alone.
        state.update(owner: 1, key: "alice", meta: meta(3))
        #expect(state.meta(owner: 2, key: "bob")?.meta == meta(1))
        #expect(state.meta(owner: 1, key: "alice")?.meta == meta(3))
        // 0.0 and -0.0 are equal but encode differently: each keeps its own.
        let zero = state.track(owner: 4, key: "dave", meta: .object([JSONMember("x", .double(0.0))]))
        let negative = state.track(owner: 5, key: "erin", meta: .object([JSONMember("x", .double(-0.0))]))
        #expect(storage(fields(zero)) != storage(fields(negative)))
        let sent = String(decoding: JSON.encode(state.statePayload()), as: UTF8.self)
        #expect(sent.contains(#""x":0.0"#) && sent.contains(#""x":-0.0"#))
    }

    @Test func refsInAMetaAreStillDropped() {
        var state = PresenceState(refPrefix: "p.")
        let members = [JSONMember("phx_ref", .string("x")), JSONMember("device", .string("phone"))]
        let ref = state.track(owner: 1, key: "alice", meta: .object(members))
        #expect(state.presence(ref)?.fields == [JSONMember("device", .string("phone"))])
        #expect(state.statePayload()["alice"]?["metas"] == .array([
            .object([JSONMember("device", .string("phone")), JSONMember("phx_ref", .string(ref))])
        ]))
    }

    @Test func anOwnerOfOneKeyIsIndexedByItsRefAlone() {
        var state = PresenceState(refPrefix: "p.")
        let a = state.track(owner: 1, key: "alice", meta: .object([JSONMember("device", .string("phone"))]))
        #expect(soleRef(of: 1, in: state) == a && state.byOwnerMany.isEmpty)
        #expect(state.meta(owner: 1, key: "alice")?.ref == a)
        #expect(state.meta(owner: 1, key: "alice")?.meta == .object([JSONMember("device", .string("phone"))]))
        #expect(state.meta(owner: 1, key: "bob") == nil && state.ref(owner: 2, key: "alice") == nil)
        // A second key moves the owner to the multi-key index; dropping it moves the owner back.
        let b = state.track(owner: 1, key: "bob", meta: .null)
        #expect(state.byOwner[1] == nil && state.byOwnerMany[1] == ["alice": a, "bob": b])
        state.untrack(owner: 1, key: "alice")
        #expect(soleRef(of: 1, in: state) == b && state.byOwnerMany.isEmpty)
        #expect(state.metaCount(forKey: "alice") == 0 && state.metaCount(forKey: "bob") == 1)
        let c = state.track(owner: 2, key: "bob", meta: .null)
        #expect(state.metaCount(forKey: "bob") == 2 && state.metaCountsByKey == ["bob": 2])
        state.untrackAll(owner: 1)
        #expect(state.byOwner.count == 1 && soleRef(of: 2, in: state) == c && state.metaCountsByKey == ["bob": 1])
    }

    @Test func aLargeRoomsRecordsGrowByAQuarterNotByDoubling() {
        var state = PresenceState(refPrefix: "p.")
        for owner in 0..<19_000 {
            _ = state.track(owner: PresenceOwner(owner), key: "user\(owner)", meta: .null)
        }
        #expect(state.metaCount == 19_000 && state.order.count == 19_000)
        // Doubling would have reserved 32,768 records (58% full); a quarter at a time stays within 25%.
        #expect(state.order.capacity < 19_000 * 5 / 4 + 64)
    }

    @Test func compactingKeepsEveryIndexPointingAtItsMeta() {
        var state = PresenceState(refPrefix: "p.")
        var refs: [PresenceOwner: String] = [:]
        for owner in PresenceOwner(0)..<300 {
            refs[owner] = state.track(owner: owner, key: "user\(owner % 100)", meta: .object([
                JSONMember("n", .integer(Int64(owner)))
            ]))
        }
        // Two owners track a second key, so the multi-key index is exercised across compactions too.
        let extra = state.track(owner: 298, key: "other", meta: .null)
        _ = state.takeDiff()
        for owner in PresenceOwner(0)..<250 where owner % 5 != 0 { state.untrackAll(owner: owner) }
        // 1 of 5 of the first 250 and the last 50 stay; removals compacted the order more than once.
        let kept = (PresenceOwner(0)..<300).filter { $0 >= 250 || $0 % 5 == 0 }
        #expect(state.metaCount == kept.count + 1)
        #expect(state.order.count <= 2 * state.metaCount + 64)
        for owner in kept {
            #expect(state.ref(owner: owner, key: "user\(owner % 100)") == refs[owner])
            #expect(state.meta(owner: owner, key: "user\(owner % 100)")?.meta == .object([
                JSONMember("n", .integer(Int64(owner)))
            ]))
        }
        #expect(state.ref(owner: 298, key: "other") == extra)
        // Tracking order survives: the state lists the kept metas' refs in the order they were tracked.
        let listed = (state.statePayload().objectMembers ?? []).flatMap { key -> [String] in
            guard case .array(let metas)? = key.value["metas"] else { return [] }
            return metas.compactMap { $0["phx_ref"]?.stringValue }
        }
        #expect(listed.count == state.metaCount)
        let firsts = kept.sorted().filter { $0 < 100 }.map { refs[$0]! }
        #expect(listed.filter { firsts.contains($0) } == firsts)
        #expect(state.encodedStatePayload() == JSON.encode(state.statePayload()))
        // Leaving after the compactions reaches the right metas.
        state.untrackAll(owner: 298)
        #expect(state.ref(owner: 298, key: "other") == nil && state.ref(owner: 298, key: "user98") == nil)
        #expect(state.metaCount == kept.count - 1)
        let diff = state.takeDiff()
        #expect(diff?["leaves"]?["other"] != nil && diff?["leaves"]?["user98"] != nil)
    }
}
