import HoldfastClusterPresence
import HoldfastJSON
import Testing

/// The first local member's join waits for a seed read: what it finds is that member's `presence_state`, not a
/// diff; the joiner's state is the room's own presence followed by the other nodes' entries.
@Suite struct ClusterPresenceSeedTests {
    @Test func aSeedReadIsNoDiffAndTheJoinersStateListsEveryNode() {
        var room = ClusterPresence(room: "room:1", node: "a", windowMilliseconds: 0)
        #expect(room.seed(now: 0) == [.read])
        #expect(room.seed(now: 0) == [], "one read in flight is enough")
        let bob = entry("b", "bob", "laptop", ref: "b.0")
        let alice = entry("c", "alice", "phone", ref: "c.0")
        let read = room.roomRead(
            fields: [(bob.field, bob.encodedValue), (alice.field, alice.encodedValue)], liveNodes: ["b", "c"], now: 1)
        #expect(read == [], "the joiner gets the whole view, so the read is no diff")
        #expect(room.isSeeded && room.remoteCount == 2)
        #expect(room.flush(now: 5) == [])
        #expect(room.seed(now: 6) == [], "a seeded view reads no more")
        let local = object(("alice", object(("metas", .array([meta("tablet", ref: "a.0")])))))
        #expect(refsByKey(room.statePayload(local: local)) == ["alice": ["a.0", "c.0"], "bob": ["b.0"]])
    }

    @Test func aSeedWhileALocalDiffsReadIsOutWaitsForThatRead() {
        var room = ClusterPresence(room: "room:1", node: "a", windowMilliseconds: 0)
        let local = object(("joins", object(("zed", object(("metas", .array([meta("phone", ref: "a.0")])))))))
        #expect(room.localDiff(local, now: 0).contains(.read))
        #expect(room.seed(now: 0) == [])
    }

    @Test func remoteChangesAfterTheSeedAreDiffs() {
        var room = ClusterPresence(room: "room:1", node: "a", windowMilliseconds: 0)
        _ = room.seed(now: 0)
        _ = room.roomRead(fields: [], liveNodes: ["b"], now: 1)
        let joined = ClusterPresenceMessage(node: "b", joins: [entry("b", "bob", "laptop", ref: "b.0")], leaves: [])
        #expect(room.receive(joined, now: 2) == [.wakeAt(2)])
        #expect(diffs(room.flush(now: 2)).map { refsByKey($0["joins"]) } == [["bob": ["b.0"]]])
    }
}
