import HoldfastClusterPresence
import HoldfastJSON
import HoldfastPresence
import HoldfastRedis
import Testing

@Suite struct ClusterPresenceTests {
    /// A seeded room on node "a" with no remote entries.
    func seededRoom(window: Int64 = 0) -> ClusterPresence {
        var room = ClusterPresence(room: "room:1", node: "a", windowMilliseconds: window)
        #expect(room.subscribed(now: 0) == [])  // nothing local, no view: no read
        _ = room.localDiff(.null, now: 0)
        var local = LocalRoom(prefix: "a.")
        #expect(room.localDiff(local.join(1, "alice", device: "phone"), now: 0).contains(.read))
        #expect(room.roomRead(fields: [], liveNodes: ["a"], now: 0) == [])
        #expect(room.isSeeded)
        return room
    }

    @Test func aLocalDiffBecomesOnePipelineOfHashWritesAndOnePublish() throws {
        var room = ClusterPresence(room: "room:1", node: "a", windowMilliseconds: 0)
        var local = LocalRoom(prefix: "a.")
        let joined = room.localDiff(local.join(1, "alice", device: "phone"), now: 0)
        let written = commands(joined)
        #expect(
            written.map { $0.prefix(2) } == [
                ["HSET", "hf:{room:1}:presence"], ["SADD", "hf:node:a:rooms"], ["PUBLISH", "hf:{room:1}:bus"],
            ])
        #expect(written[0][2] == "a|a.0")
        #expect(try JSON.parse(written[0][3]) == object(("key", .string("alice")), ("meta", meta("phone", ref: "a.0"))))
        #expect(joined.last == .read, "the first local member seeds the view")

        _ = room.localDiff(local.join(2, "bob", device: "laptop"), now: 1)
        let left = room.localDiff(local.leave(1), now: 1)
        #expect(commands(left).map(\.first) == ["HDEL", "SADD", "PUBLISH"])
        #expect(commands(left)[0] == ["HDEL", "hf:{room:1}:presence", "a|a.0"])
        let published = try ClusterPresenceMessage(decoding: Array(commands(left)[2][2].utf8))
        #expect(published.node == "a" && published.joins == [] && published.leaves.map(\.ref) == ["a.0"])
        #expect(!left.contains(.read), "one read in flight is enough")
        #expect(diffs(joined + left).isEmpty, "the room itself tells its members about local changes")
    }

    @Test func theLastLocalLeaveTakesTheRoomOutOfTheNodesRoomSet() {
        var room = seededRoom()
        var local = LocalRoom(prefix: "a.")
        local.join(1, "alice", device: "phone")
        let left = commands(room.localDiff(local.leave(1), now: 5))
        #expect(left.contains(["SREM", "hf:node:a:rooms", "room:1"]))
        #expect(room.localCount == 0)
    }

    @Test func oneUserOnTwoNodesIsOneKeyWithTwoMetas() {
        var room = seededRoom()
        let remote = ClusterPresenceMessage(node: "b", joins: [entry("b", "alice", "laptop", ref: "b.0")], leaves: [])
        #expect(room.receive(remote, now: 10) == [.wakeAt(10)])
        #expect(diffs(room.flush(now: 10)).map { refsByKey($0["joins"]) } == [["alice": ["b.0"]]])
        #expect(refsByKey(room.statePayload()) == ["alice": ["a.0", "b.0"]])
        #expect(room.entryCount == 2 && room.remoteCount == 1)
    }

    @Test func remoteDiffsAreCoalescedOverTheWindow() {
        var room = seededRoom(window: 100)
        let x = entry("b", "xena", "phone", ref: "b.1")
        let y = entry("c", "yuri", "phone", ref: "c.1")
        let z = entry("b", "zoe", "phone", ref: "b.2")
        // The first change after a quiet window goes at once.
        #expect(room.receive(ClusterPresenceMessage(node: "b", joins: [x], leaves: []), now: 0) == [.wakeAt(0)])
        #expect(diffs(room.flush(now: 0)).map { refsByKey($0["joins"]) } == [["xena": ["b.1"]]])
        // Within the window: a join and its leave cancel out, the rest waits for the window's end.
        #expect(room.receive(ClusterPresenceMessage(node: "c", joins: [y], leaves: []), now: 10) == [.wakeAt(100)])
        #expect(room.receive(ClusterPresenceMessage(node: "c", joins: [], leaves: [y]), now: 20) == [])
        #expect(room.receive(ClusterPresenceMessage(node: "b", joins: [z], leaves: [x]), now: 30) == [])
        let flushed = diffs(room.flush(now: 100))
        #expect(flushed.count == 1)
        #expect(refsByKey(flushed.first?["joins"]) == ["zoe": ["b.2"]])
        #expect(refsByKey(flushed.first?["leaves"]) == ["xena": ["b.1"]])
        #expect(room.flush(now: 200) == [], "nothing left")
    }

    @Test func itsOwnEchoesAndRepeatedJoinsChangeNothing() {
        var room = seededRoom()
        let own = ClusterPresenceMessage(node: "a", joins: [entry("a", "mallory", "x", ref: "a.9")], leaves: [])
        #expect(room.receive(own, now: 1) == [])
        let join = ClusterPresenceMessage(node: "b", joins: [entry("b", "bob", "phone", ref: "b.0")], leaves: [])
        _ = room.receive(join, now: 2)
        _ = room.flush(now: 2)
        #expect(room.receive(join, now: 3) == [], "the same entry again is no change")
        #expect(
            room.receive(
                ClusterPresenceMessage(node: "b", joins: [], leaves: [entry("b", "x", "y", ref: "b.7")]), now: 4) == [])
    }

    @Test func aReapMessageBuiltInRedisLeavesAllTheDeadNodesMetasInOneDiff() throws {
        var room = seededRoom()
        let joins = [
            entry("b", "bob", "phone", ref: "b.0"), entry("b", "bob", "laptop", ref: "b.1"),
            entry("b", "carol", "phone", ref: "b.2"),
        ]
        _ = room.receive(ClusterPresenceMessage(node: "b", joins: joins, leaves: []), now: 0)
        _ = room.flush(now: 0)
        // The reap script's text: stored values concatenated, exactly as Redis holds them.
        let stored = joins.map { String(decoding: $0.encodedValue, as: UTF8.self) }.joined(separator: ",")
        let text = #"{"kind":"presence","node":"b","joins":[],"leaves":["# + stored + "]}"
        let reaped = try ClusterPresenceMessage(decoding: Array(text.utf8))
        #expect(room.receive(reaped, now: 50) == [.wakeAt(50)])
        let diff = diffs(room.flush(now: 50))
        #expect(diff.count == 1)
        #expect(refsByKey(diff.first?["leaves"]) == ["bob": ["b.0", "b.1"], "carol": ["b.2"]])
        #expect(refsByKey(diff.first?["joins"]) == [:])
        #expect(refsByKey(room.statePayload()) == ["alice": ["a.0"]])
    }

    @Test func aRewriteAfterAnOutageResyncsOnlyWhenTheViewChanged() {
        var room = seededRoom()
        let bob = entry("b", "bob", "phone", ref: "b.0")
        _ = room.receive(ClusterPresenceMessage(node: "b", joins: [bob], leaves: []), now: 0)
        _ = room.flush(now: 0)
        let rewrite = room.linkReady(now: 10)
        #expect(rewrite.count == 1)
        guard case .rewrite(let own)? = rewrite.first else {
            Issue.record("expected a rewrite")
            return
        }
        #expect(own.map(\.field) == ["a|a.0"], "this node's entries, from local truth")
        // Redis came back with everything: nothing to tell members.
        let same = [(field: bob.field, value: bob.encodedValue)] + own.map { ($0.field, $0.encodedValue) }
        #expect(room.roomRead(fields: same, liveNodes: ["a", "b"], now: 20) == [])
        // Another outage; bob left meanwhile and node b, live, rewrote without him.
        _ = room.linkReady(now: 30)
        let after = room.roomRead(fields: own.map { ($0.field, $0.encodedValue) }, liveNodes: ["a", "b"], now: 40)
        #expect(after == [.pushState(object(("alice", object(("metas", .array([meta("phone", ref: "a.0")]))))))])
        #expect(room.flush(now: 100) == [], "the state covered the change: no diff follows")
    }

    @Test func readsOutsideAnOutageReportWhatTheyFoundAsADiffNotAState() {
        var room = seededRoom()
        // The subscription is confirmed while the seed read is still out; bob joined on b in between.
        #expect(room.subscribed(now: 1) == [.read])
        let bob = entry("b", "bob", "phone", ref: "b.0")
        #expect(room.roomRead(fields: [(bob.field, bob.encodedValue)], liveNodes: ["a", "b"], now: 2) == [.wakeAt(2)])
        #expect(diffs(room.flush(now: 2)).map { refsByKey($0["joins"]) } == [["bob": ["b.0"]]])
    }

    @Test func aNodeThatHasNotRewrittenYetKeepsItsEntriesThroughAResync() {
        var room = seededRoom()
        let carol = entry("c", "carol", "phone", ref: "c.0")
        _ = room.receive(ClusterPresenceMessage(node: "c", joins: [carol], leaves: []), now: 0)
        _ = room.flush(now: 0)
        _ = room.linkReady(now: 5)
        // Redis restarted empty: c is neither in the hash nor in hf:nodes yet.
        #expect(room.roomRead(fields: [], liveNodes: ["a"], now: 6) == [])
        #expect(refsByKey(room.statePayload())["carol"] == ["c.0"])
        // c rewrites: a replace message with its complete set, unchanged.
        #expect(
            room.receive(ClusterPresenceMessage(node: "c", replace: true, joins: [carol], leaves: []), now: 7) == [])
        // Once c is live again, the hash is its whole truth.
        _ = room.subscribed(now: 8)
        #expect(room.roomRead(fields: [], liveNodes: ["a", "c"], now: 9).count == 1)
        #expect(refsByKey(room.statePayload())["carol"] == nil)
    }

    @Test func messagesDuringAReadAreReplayedOverIt() {
        var room = seededRoom()
        let bob = entry("b", "bob", "phone", ref: "b.0")
        _ = room.receive(ClusterPresenceMessage(node: "b", joins: [bob], leaves: []), now: 0)
        _ = room.flush(now: 0)
        #expect(room.subscribed(now: 1) == [.read])
        // Bob leaves after Redis answered the read but before the reply arrives: the read still lists him.
        #expect(room.receive(ClusterPresenceMessage(node: "b", joins: [], leaves: [bob]), now: 2) == [])
        let result = room.roomRead(fields: [(bob.field, bob.encodedValue)], liveNodes: ["a", "b"], now: 3)
        #expect(refsByKey(room.statePayload())["bob"] == nil, "the buffered leave wins over the older read")
        #expect(result.count == 1, "members learn that bob left")
    }

    @Test func aStalledNodesReplaceMessageRejoinsItsMembersInOneDiff() {
        var room = seededRoom()
        let bob = entry("b", "bob", "phone", ref: "b.0")
        let dave = entry("b", "dave", "phone", ref: "b.1")
        _ = room.receive(ClusterPresenceMessage(node: "b", joins: [bob, dave], leaves: []), now: 0)
        _ = room.flush(now: 0)
        _ = room.receive(ClusterPresenceMessage(node: "b", joins: [], leaves: [bob, dave]), now: 10)  // reaped
        _ = room.flush(now: 10)
        // b wakes, finds its token gone, rewrites: dave left while it slept.
        #expect(
            room.receive(ClusterPresenceMessage(node: "b", replace: true, joins: [bob], leaves: []), now: 20).count == 1
        )
        let diff = diffs(room.flush(now: 20))
        #expect(diff.count == 1 && refsByKey(diff.first?["joins"]) == ["bob": ["b.0"]])
        #expect(refsByKey(room.statePayload()) == ["alice": ["a.0"], "bob": ["b.0"]])
        // A replace also drops what the node no longer has.
        _ = room.receive(ClusterPresenceMessage(node: "b", replace: true, joins: [], leaves: []), now: 30)
        #expect(refsByKey(diffs(room.flush(now: 30)).first?["leaves"]) == ["bob": ["b.0"]])
    }

    @Test func aGoneNodesEntriesAreDropped() {
        var room = seededRoom()
        _ = room.receive(
            ClusterPresenceMessage(node: "b", joins: [entry("b", "bob", "phone", ref: "b.0")], leaves: []), now: 0)
        _ = room.flush(now: 0)
        #expect(room.dropNode("b", now: 1) == [.wakeAt(1)])
        #expect(refsByKey(diffs(room.flush(now: 1)).first?["leaves"]) == ["bob": ["b.0"]])
        #expect(room.dropNode("a", now: 2) == [], "never its own")
    }

    @Test func theViewCrossesABinaryUpgradeUnchanged() throws {
        var room = seededRoom(window: 100)
        _ = room.receive(
            ClusterPresenceMessage(node: "b", joins: [entry("b", "bob", "phone", ref: "b.0")], leaves: []), now: 0)
        _ = room.flush(now: 0)
        _ = room.receive(
            ClusterPresenceMessage(node: "c", joins: [entry("c", "carol", "phone", ref: "c.0")], leaves: []), now: 10)
        var imported = try ClusterPresence(
            importing: room.exportSnapshot(), room: "room:1", node: "a", windowMilliseconds: 100)
        #expect(imported.statePayload() == room.statePayload())
        #expect(imported.isSeeded && imported.localCount == 1 && imported.hasPendingChanges)
        #expect(diffs(imported.flush(now: 100)) == diffs(room.flush(now: 100)), "the pending diff goes out once")
        #expect(throws: ClusterPresenceSnapshotError.malformed) {
            try ClusterPresence(importing: Array("{}".utf8), room: "r", node: "a", windowMilliseconds: 0)
        }
    }
}
