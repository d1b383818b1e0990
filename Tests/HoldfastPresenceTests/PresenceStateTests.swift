import HoldfastJSON
import HoldfastPresence
import Testing

@Suite struct PresenceStateTests {
    @Test func trackProducesPhoenixShapedStateAndDiff() {
        var state = PresenceState(refPrefix: "g1.")
        let ref = state.track(owner: 1, key: "alice", meta: device("phone"))
        #expect(state.statePayload() == object(("alice", metas(deviceMeta("phone", ref: ref)))))
        #expect(state.takeDiff() == diff(joins: object(("alice", metas(deviceMeta("phone", ref: ref))))))
        #expect(state.takeDiff() == nil)
        #expect(state.keyCount == 1)
        #expect(state.metaCount == 1)
    }

    @Test func twoDevicesAreOneKeyWithTwoMetasInTrackingOrder() {
        var state = PresenceState(refPrefix: "g1.")
        let phone = state.track(owner: 1, key: "alice", meta: device("phone"))
        let laptop = state.track(owner: 2, key: "alice", meta: device("laptop"))
        let expected = object(("alice", metas(deviceMeta("phone", ref: phone), deviceMeta("laptop", ref: laptop))))
        #expect(state.statePayload() == expected)
        #expect(state.takeDiff() == diff(joins: expected))
        #expect(state.keyCount == 1)
        #expect(state.metaCount == 2)
    }

    @Test func aDeviceLeavingRemovesOnlyItsMeta() {
        var state = PresenceState(refPrefix: "g1.")
        let phone = state.track(owner: 1, key: "alice", meta: device("phone"))
        let laptop = state.track(owner: 2, key: "alice", meta: device("laptop"))
        _ = state.takeDiff()
        let removed = state.untrack(owner: 1, key: "alice")
        let removedAgain = state.untrack(owner: 1, key: "alice")
        #expect(removed)
        #expect(!removedAgain)
        #expect(state.statePayload() == object(("alice", metas(deviceMeta("laptop", ref: laptop)))))
        #expect(state.takeDiff() == diff(leaves: object(("alice", metas(deviceMeta("phone", ref: phone))))))
        #expect(state.keyCount == 1)
        #expect(state.metaCount == 1)
    }

    @Test func updateGivesANewRefWithThePreviousOneAndDiffsAsLeavePlusJoin() {
        var state = PresenceState(refPrefix: "g1.")
        let old = state.track(owner: 1, key: "alice", meta: device("phone"))
        _ = state.takeDiff()
        let new = state.update(owner: 1, key: "alice", meta: device("tablet"))
        #expect(new != nil && new != old)
        guard let new else { return }
        let joined = deviceMeta("tablet", ref: new, previous: old)
        #expect(state.statePayload() == object(("alice", metas(joined))))
        #expect(
            state.takeDiff()
                == diff(
                    joins: object(("alice", metas(joined))),
                    leaves: object(("alice", metas(deviceMeta("phone", ref: old))))
                )
        )
        #expect(state.update(owner: 2, key: "alice", meta: device("x")) == nil)
        #expect(state.takeDiff() == nil)
    }

    @Test func untrackAllRemovesEveryKeyOfTheOwner() {
        var state = PresenceState(refPrefix: "g1.")
        let a = state.track(owner: 7, key: "alice", meta: device("phone"))
        let b = state.track(owner: 7, key: "bob", meta: device("phone"))
        let c = state.track(owner: 8, key: "bob", meta: device("laptop"))
        _ = state.takeDiff()
        state.untrackAll(owner: 7)
        #expect(state.statePayload() == object(("bob", metas(deviceMeta("laptop", ref: c)))))
        #expect(
            state.takeDiff()
                == diff(
                    leaves: object(
                        ("alice", metas(deviceMeta("phone", ref: a))), ("bob", metas(deviceMeta("phone", ref: b)))
                    )
                )
        )
        state.untrackAll(owner: 7)
        #expect(state.takeDiff() == nil)
        #expect(!state.isTracked(owner: 7, key: "alice"))
    }

    @Test func anOwnerTrackingSeveralKeysUntracksThemOneByOne() {
        var state = PresenceState(refPrefix: "g1.")
        let a = state.track(owner: 1, key: "a", meta: .null)
        let b = state.track(owner: 1, key: "b", meta: .null)
        let c = state.track(owner: 1, key: "c", meta: .null)
        #expect(state.ref(owner: 1, key: "b") == b)
        state.untrack(owner: 1, key: "b")
        state.untrack(owner: 1, key: "a")
        #expect(!state.isTracked(owner: 1, key: "a"))
        #expect(state.ref(owner: 1, key: "c") == c)
        let d = state.track(owner: 1, key: "d", meta: .null)
        #expect(state.metaCount == 2)
        state.untrackAll(owner: 1)
        #expect(state.metaCount == 0 && state.keyCount == 0)
        #expect(state.statePayload() == .emptyObject)
        #expect(![a, b, c].contains(d))
        #expect(state.takeDiff() == nil)
    }

    @Test func serverAssignedMembersAndNonObjectsAreNormalised() {
        var state = PresenceState(refPrefix: "g1.")
        let forged = object(("device", .string("phone")), ("phx_ref", .string("fake")), ("phx_ref_prev", .null))
        let a = state.track(owner: 1, key: "a", meta: forged)
        let b = state.track(owner: 2, key: "b", meta: .null)
        let c = state.track(owner: 3, key: "c", meta: .integer(5))
        #expect(
            state.statePayload()
                == object(
                    ("a", metas(deviceMeta("phone", ref: a))),
                    ("b", metas(object(("phx_ref", .string(b))))),
                    ("c", metas(object(("value", .integer(5)), ("phx_ref", .string(c)))))
                )
        )
    }

    @Test func trackingAKeyAgainReplacesTheOwnersMeta() {
        var state = PresenceState(refPrefix: "g1.")
        let old = state.track(owner: 1, key: "alice", meta: device("phone"))
        let new = state.track(owner: 1, key: "alice", meta: device("phone"))
        #expect(state.metaCount == 1)
        #expect(state.statePayload() == object(("alice", metas(deviceMeta("phone", ref: new, previous: old)))))
    }

    @Test func refsAreUniqueAcross100kTracks() {
        var state = PresenceState(refPrefix: "g1.")
        var seen = Set<String>()
        for index in 0..<100_000 {
            let ref = state.track(owner: UInt64(index % 1000), key: "k\(index)", meta: .null)
            seen.insert(ref)
            if index % 3 == 0 { state.untrack(owner: UInt64(index % 1000), key: "k\(index)") }
        }
        #expect(seen.count == 100_000)
        #expect(seen.allSatisfy { $0.hasPrefix("g1.") && $0.count <= 3 + 3 })
    }
}
