import HoldfastJSON
import HoldfastPresence
import Testing

@Suite struct PresenceDiffTests {
    @Test func aJoinAndLeaveInOneWindowCancelOut() {
        var state = PresenceState(refPrefix: "g1.")
        let stays = state.track(owner: 1, key: "alice", meta: device("phone"))
        _ = state.track(owner: 2, key: "bob", meta: device("phone"))
        state.untrack(owner: 2, key: "bob")
        #expect(state.takeDiff() == diff(joins: object(("alice", metas(deviceMeta("phone", ref: stays))))))

        _ = state.track(owner: 3, key: "carol", meta: device("phone"))
        state.untrackAll(owner: 3)
        #expect(state.hasPendingChanges)
        #expect(state.takeDiff() == nil)
    }

    @Test func aBurstOf10000JoinsIsOneDiff() {
        var state = PresenceState(refPrefix: "g1.")
        var refs: [String] = []
        for index in 0..<10_000 {
            refs.append(state.track(owner: UInt64(index), key: "user\(index)", meta: device("phone")))
        }
        let taken = state.takeDiff()
        guard let joins = taken?["joins"]?.objectMembers else {
            Issue.record("expected a diff with joins")
            return
        }
        #expect(joins.count == 10_000)
        #expect(joins.first == JSONMember("user0", metas(deviceMeta("phone", ref: refs[0]))))
        #expect(joins.last == JSONMember("user9999", metas(deviceMeta("phone", ref: refs[9999]))))
        #expect(taken?["leaves"] == .emptyObject)
        #expect(state.takeDiff() == nil)
    }

    @Test func updatesAfterAJoinInOneWindowAreOneJoin() {
        var state = PresenceState(refPrefix: "g1.")
        let first = state.track(owner: 1, key: "alice", meta: device("phone"))
        let second = state.update(owner: 1, key: "alice", meta: device("tablet"))
        let third = state.update(owner: 1, key: "alice", meta: device("laptop"))
        #expect(second != nil && third != nil)
        guard let second, let third else { return }
        #expect(first != second && second != third)
        #expect(
            state.takeDiff()
                == diff(joins: object(("alice", metas(deviceMeta("laptop", ref: third, previous: second)))))
        )
    }

    @Test func aLeaveThenRetrackUnderTheSameRefIsNoChange() {
        var state = PresenceState(refPrefix: "g1.")
        let ref = state.track(owner: 1, key: "alice", meta: device("phone"))
        _ = state.takeDiff()
        state.untrackAll(owner: 1)
        state.track(owner: 9, key: "alice", meta: device("phone"), phxRef: ref)
        #expect(state.takeDiff() == nil)
        #expect(state.ref(owner: 9, key: "alice") == ref)
    }

    @Test func retrackingAKnownRefWithAnotherMetaIsAJoinThatReplacesIt() {
        var state = PresenceState(refPrefix: "g1.")
        let ref = state.track(owner: 1, key: "alice", meta: device("phone"))
        _ = state.takeDiff()
        state.track(owner: 1, key: "alice", meta: device("watch"), phxRef: ref)
        #expect(state.takeDiff() == diff(joins: object(("alice", metas(deviceMeta("watch", ref: ref))))))
        #expect(state.metaCount == 1)
    }

    @Test func rebuildingKeepsGivenRefsAndNewRefsAvoidThem() {
        var state = PresenceState(refPrefix: "r.")
        state.track(owner: 1, key: "alice", meta: device("phone"), phxRef: "r.0")
        state.track(owner: 2, key: "alice", meta: device("laptop"), phxRef: "old.7", previousRef: "old.6")
        let fresh = state.track(owner: 3, key: "bob", meta: device("phone"))
        #expect(fresh == "r.1")
        #expect(
            state.statePayload()
                == object(
                    (
                        "alice",
                        metas(deviceMeta("phone", ref: "r.0"), deviceMeta("laptop", ref: "old.7", previous: "old.6"))
                    ),
                    ("bob", metas(deviceMeta("phone", ref: "r.1")))
                )
        )
    }

    @Test func aRebuildCanDropItsDiffInFavourOfAFullStatePush() {
        var lost = PresenceState(refPrefix: "g1.")
        let phone = lost.track(owner: 1, key: "alice", meta: device("phone"))
        let laptop = lost.track(owner: 2, key: "alice", meta: device("laptop"))
        let clientView = lost.statePayload()

        var rebuilt = PresenceState(refPrefix: "g2.")
        rebuilt.track(owner: 1, key: "alice", meta: device("phone"), phxRef: phone)
        rebuilt.track(owner: 2, key: "alice", meta: device("laptop"), phxRef: laptop)
        #expect(rebuilt.hasPendingChanges)
        rebuilt.discardPendingChanges()
        #expect(rebuilt.takeDiff() == nil)
        #expect(rebuilt.statePayload() == clientView)
        #expect(rebuilt.track(owner: 3, key: "bob", meta: .null) == "g2.0")
    }

    @Test func aRefMovedToAnotherKeyLeavesTheOldKey() {
        var state = PresenceState(refPrefix: "g1.")
        let ref = state.track(owner: 1, key: "alice", meta: device("phone"))
        _ = state.takeDiff()
        state.track(owner: 1, key: "bob", meta: device("phone"), phxRef: ref)
        #expect(
            state.takeDiff()
                == diff(
                    joins: object(("bob", metas(deviceMeta("phone", ref: ref)))),
                    leaves: object(("alice", metas(deviceMeta("phone", ref: ref))))
                )
        )
    }

    @Test func manyLeavesOfOneKeyStayLinear() {
        var state = PresenceState(refPrefix: "g1.")
        var last = ""
        for owner in 0..<19_000 { last = state.track(owner: UInt64(owner), key: "lobby", meta: .null) }
        _ = state.takeDiff()
        for owner in 0..<18_999 { state.untrackAll(owner: UInt64(owner)) }
        #expect(state.metaCount == 1)
        #expect(state.keyCount == 1)
        let leaves = state.takeDiff()?["leaves"]?["lobby"]?["metas"]
        guard case .array(let list)? = leaves else {
            Issue.record("expected lobby leaves")
            return
        }
        #expect(list.count == 18_999)
        #expect(state.statePayload()["lobby"]?["metas"] == .array([object(("phx_ref", .string(last)))]))
    }
}
