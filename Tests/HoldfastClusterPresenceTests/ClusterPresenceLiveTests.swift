import Glibc
import HoldfastClusterPresence
import HoldfastCore
import HoldfastJSON
import HoldfastRedis
import HoldfastTestSupport
import Synchronization
import Testing

/// Several nodes in one process, each on its own loop with its own connections, against a real `redis-server`.
@Suite(.serialized) struct ClusterPresenceLiveTests {
    @Test func aNameHeldByALiveNodeIsRefusedAndFreeAgainAfterItLeaves() throws {
        let server = try RedisServerProcess()
        let first = try TestNode("n1", port: server.port, timeout: 1_000)
        #expect(first.start() == .started)
        let second = try TestNode("n1", port: server.port, timeout: 1_000)
        #expect(second.start() == .refused(.nameTaken(name: "n1", holder: first.registry.record.token)))
        #expect("\(NodeRegistryError.nameTaken(name: "n1", holder: "h:1:2"))".contains("n1"))
        second.kill()
        first.shutDown()
        let third = try TestNode("n1", port: server.port, timeout: 1_000)
        #expect(third.start() == .started)
        third.kill()
    }

    @Test func aNodeRestartedUnderItsNameWaitsOutItsKeyAndClearsWhatItsEarlierProcessLeft() throws {
        let server = try RedisServerProcess()
        let inspector = try Inspector(port: server.port)
        // A lone pair: with the survivor's reaping on, either node may clear the old entries; both ways count.
        let a = try TestNode("a", port: server.port, timeout: 1_000)
        let crashed = try TestNode("b", port: server.port, timeout: 1_000)
        #expect(a.start() == .started && crashed.start() == .started)
        a.join("r1", owner: 1, key: "alice", device: "phone")
        crashed.join("r1", owner: 1, key: "bob", device: "phone")
        #expect(eventually { a.view("r1").keys.sorted() == ["alice", "bob"] })
        let before = a.sent("r1").count
        crashed.kill()
        let restarted = try TestNode("b", port: server.port, timeout: 1_000)
        #expect(restarted.start() == .started, "the dead process's key expires within the claim's patience")
        #expect(eventually { a.view("r1").keys.sorted() == ["alice"] })
        #expect(inspector.fields("r1") == ["a|a.0"])
        #expect(inspector.command(["GET", "hf:node:b"])?.string == restarted.registry.record.token)
        usleep(500_000)
        let told = Array(a.sent("r1").dropFirst(before))
        #expect(told.count == 1 && refsByKey(told.first?.payload["leaves"]) == ["bob": ["b.0"]])
        #expect(eventually { a.registry.liveNodes.map(\.name) == ["a", "b"] })
        for node in [a, restarted] { node.kill() }
        inspector.close()
    }

    @Test func heartbeatsKeepEveryNodeAliveAndListed() throws {
        let server = try RedisServerProcess()
        let inspector = try Inspector(port: server.port)
        let a = try TestNode("a", port: server.port, timeout: 1_500)
        let b = try TestNode("b", port: server.port, timeout: 1_500)
        #expect(a.start() == .started && b.start() == .started)
        #expect(eventually { a.registry.liveNodes.map(\.name) == ["a", "b"] })
        let firstBeat = a.registry.liveNodes.first { $0.name == "b" }?.lastHeartbeatMilliseconds ?? 0
        usleep(3_750_000)  // 2.5 timeouts: every key would have expired without heartbeats
        #expect(inspector.command(["GET", "hf:node:a"])?.string == a.registry.record.token)
        #expect(inspector.command(["GET", "hf:node:b"])?.string == b.registry.record.token)
        #expect((inspector.command(["PTTL", "hf:node:a"])?.integer ?? 0) > 0)
        #expect(b.registry.liveNodes.map(\.name) == ["a", "b"])
        #expect((a.registry.liveNodes.first { $0.name == "b" }?.lastHeartbeatMilliseconds ?? 0) > firstBeat)
        #expect(a.reaps.withLock { $0 } == [] && b.reaps.withLock { $0 } == [])
        a.kill()
        b.kill()
        inspector.close()
    }

    @Test func oneUserOnTwoNodesIsOneKeyWithTwoMetasOnEveryNode() throws {
        let server = try RedisServerProcess()
        let a = try TestNode("a", port: server.port, timeout: 2_000)
        let b = try TestNode("b", port: server.port, timeout: 2_000)
        let c = try TestNode("c", port: server.port, timeout: 2_000)
        #expect(a.start() == .started && b.start() == .started && c.start() == .started)
        a.join("room:1", owner: 1, key: "alice", device: "phone")
        b.join("room:1", owner: 1, key: "alice", device: "laptop")
        let both = ["alice": ["a.0", "b.0"]]
        #expect(eventually { a.view("room:1").mapValues { $0.sorted() } == both })
        #expect(eventually { b.view("room:1").mapValues { $0.sorted() } == both })
        // A node whose first member arrives later seeds its view from the hash.
        c.join("room:1", owner: 7, key: "carol", device: "tablet")
        #expect(
            eventually { c.view("room:1").mapValues { $0.sorted() } == ["alice": ["a.0", "b.0"], "carol": ["c.0"]] })
        #expect(eventually { a.view("room:1")["carol"] == ["c.0"] })
        b.leave("room:1", owner: 1)
        #expect(eventually { a.view("room:1")["alice"] == ["a.0"] && c.view("room:1")["alice"] == ["a.0"] })
        let toA = a.sent("room:1")
        #expect(toA.allSatisfy { $0.event == "presence_diff" }, "no resync in a healthy cluster")
        #expect(toA.contains { refsByKey($0.payload["leaves"]) == ["alice": ["b.0"]] })
        for node in [a, b, c] { node.kill() }
    }

    @Test func aDeadNodesMembersLeaveInOneDiffPerRoomWithinTheTimeout() throws {
        let server = try RedisServerProcess()
        let inspector = try Inspector(port: server.port)
        let timeout: Int64 = 1_000
        let a = try TestNode("a", port: server.port, timeout: timeout)
        let b = try TestNode("b", port: server.port, timeout: timeout)
        let c = try TestNode("c", port: server.port, timeout: timeout)
        #expect(a.start() == .started && b.start() == .started && c.start() == .started)
        a.join("r1", owner: 1, key: "alice", device: "phone")
        a.join("r2", owner: 1, key: "alice", device: "phone")
        b.join("r1", owner: 1, key: "bob", device: "phone")
        b.join("r1", owner: 2, key: "bob", device: "laptop")
        b.join("r1", owner: 3, key: "carol", device: "phone")
        b.join("r2", owner: 1, key: "bob", device: "phone")
        c.join("r2", owner: 1, key: "dave", device: "phone")
        #expect(
            eventually { a.view("r1").keys.sorted() == ["alice", "bob", "carol"] && a.view("r1")["bob"]?.count == 2 })
        #expect(eventually { a.view("r2").keys.sorted() == ["alice", "bob", "dave"] })
        #expect(eventually { c.view("r2").keys.sorted() == ["alice", "bob", "dave"] })
        #expect(eventually { a.registry.liveNodes.count == 3 })
        let before = (a: (a.sent("r1").count, a.sent("r2").count), c: c.sent("r2").count)
        let lastBeat = try #require(a.registry.liveNodes.first { $0.name == "b" }).lastHeartbeatMilliseconds

        b.kill()
        #expect(
            eventually { a.view("r1").keys.sorted() == ["alice"] && a.view("r2").keys.sorted() == ["alice", "dave"] })
        #expect(eventually { c.view("r2").keys.sorted() == ["alice", "dave"] })
        let leftAt = try #require(a.lastPushAt.withLock { $0["r1"] })
        usleep(UInt32(timeout) * 1_500)  // long enough for a second reap or diff to show up, if there were one
        let r1 = Array(a.sent("r1").dropFirst(before.a.0))
        let r2 = Array(a.sent("r2").dropFirst(before.a.1))
        #expect(r1.count == 1 && r2.count == 1, "one diff per room")
        #expect(r1.first?.event == "presence_diff")
        #expect(refsByKey(r1.first?.payload["leaves"]).mapValues { $0.count } == ["bob": 2, "carol": 1])
        #expect(refsByKey(r2.first?.payload["leaves"]) == ["bob": ["b.0"]])
        #expect(Array(c.sent("r2").dropFirst(before.c)).count == 1)
        #expect((a.reaps.withLock { $0 } + c.reaps.withLock { $0 }) == ["b:2"], "one node reaped, once")
        #expect(inspector.fields("r1") == ["a|a.0"] && inspector.fields("r2") == ["a|a.0", "c|c.0"])
        #expect(inspector.command(["EXISTS", "hf:node:b", "hf:node:b:rooms"]) == .integer(0))
        #expect(inspector.command(["ZSCORE", "hf:nodes", "b"]) == .null)
        // From the dead node's last heartbeat (Redis's clock, same machine) to the leave diff at a member's node.
        let elapsed = leftAt - lastBeat
        print("dead node: leave diff \(elapsed) ms after its last heartbeat (node_timeout_ms \(timeout))")
        #expect(elapsed < 3 * timeout, "the design bound is 4/5 of the timeout plus a round trip")
        for node in [a, c] { node.kill() }
        inspector.close()
    }

    @Test func aRedisRestartResyncsPresenceAndTellsMembersOnlyWhatChanged() throws {
        let server = try RedisServerProcess()
        let inspector = try Inspector(port: server.port)
        let a = try TestNode("a", port: server.port, timeout: 2_000)
        let b = try TestNode("b", port: server.port, timeout: 2_000)
        #expect(a.start() == .started && b.start() == .started)
        a.join("r1", owner: 1, key: "alice", device: "phone")
        b.join("r1", owner: 1, key: "bob", device: "phone")
        b.join("r1", owner: 2, key: "erin", device: "phone")
        let all = ["alice": ["a.0"], "bob": ["b.0"], "erin": ["b.1"]]
        #expect(eventually { a.view("r1") == all && b.view("r1") == all })
        let quiet = (a.sent("r1").count, b.sent("r1").count)

        // Redis restarts empty: the nodes rewrite their fields; members were shown everything already.
        try server.restart()
        #expect(eventually { a.client.status.connections == 2 && b.client.status.connections == 2 })
        #expect(eventually { inspector.fields("r1") == ["a|a.0", "b|b.0", "b|b.1"] })
        #expect(eventually { a.registry.liveNodes.map(\.name) == ["a", "b"] })
        usleep(1_000_000)
        #expect(a.view("r1") == all && b.view("r1") == all)
        #expect(a.sent("r1").count == quiet.0 && b.sent("r1").count == quiet.1, "no resync when nothing changed")

        // Redis goes away; erin leaves meanwhile (b cannot write it); Redis comes back empty.
        server.stop()
        #expect(eventually { b.client.status.state.name == "reconnecting" })
        b.leave("r1", owner: 2)
        try server.start()
        #expect(eventually { a.view("r1") == ["alice": ["a.0"], "bob": ["b.0"]] })
        #expect(eventually { inspector.fields("r1") == ["a|a.0", "b|b.0"] })
        usleep(1_000_000)
        let told = Array(a.sent("r1").dropFirst(quiet.0))
        #expect(told.count == 1, "one message for the change: \(told)")
        let leaves = told.first.map { $0.event == "presence_diff" ? refsByKey($0.payload["leaves"]) : [:] }
        #expect(told.first?.event == "presence_state" || leaves == ["erin": ["b.1"]])
        #expect(b.sent("r1").count == quiet.1, "b's own view did not change")
        for node in [a, b] { node.kill() }
        inspector.close()
    }

    @Test func aStalledNodeIsReapedAndRejoinsWithItsEntriesWhenItWakes() throws {
        let server = try RedisServerProcess()
        let inspector = try Inspector(port: server.port)
        let a = try TestNode("a", port: server.port, timeout: 1_000)
        let b = try TestNode("b", port: server.port, timeout: 1_000)
        #expect(a.start() == .started && b.start() == .started)
        a.join("r1", owner: 1, key: "alice", device: "phone")
        b.join("r1", owner: 1, key: "bob", device: "phone")
        #expect(eventually { a.view("r1").keys.sorted() == ["alice", "bob"] })
        let before = a.sent("r1").count

        b.stall(milliseconds: 3_000)
        #expect(eventually { a.view("r1").keys.sorted() == ["alice"] }, "reaped while stalled")
        #expect(inspector.fields("r1") == ["a|a.0"])
        #expect(eventually { a.view("r1").keys.sorted() == ["alice", "bob"] }, "back once it woke")
        #expect(eventually { inspector.fields("r1") == ["a|a.0", "b|b.0"] })
        #expect(eventually { a.registry.liveNodes.map(\.name) == ["a", "b"] })
        let told = Array(a.sent("r1").dropFirst(before))
        #expect(told.map(\.event) == ["presence_diff", "presence_diff"])
        #expect(refsByKey(told.last?.payload["joins"]) == ["bob": ["b.0"]], "one join diff")
        #expect(b.view("r1").keys.sorted() == ["alice", "bob"])
        for node in [a, b] { node.kill() }
        inspector.close()
    }

    @Test func aNodeHandedToANewProcessIsTheSameNodeAndNobodySeesADiff() throws {
        let server = try RedisServerProcess()
        let inspector = try Inspector(port: server.port)
        let old = try TestNode("a", port: server.port, timeout: 2_000)
        let b = try TestNode("b", port: server.port, timeout: 2_000)
        #expect(old.start() == .started && b.start() == .started)
        old.join("r1", owner: 1, key: "alice", device: "phone")
        b.join("r1", owner: 1, key: "bob", device: "phone")
        #expect(eventually { old.view("r1").keys.sorted() == ["alice", "bob"] && b.view("r1").keys.count == 2 })
        let quiet = b.sent("r1").count
        let oldView = old.view("r1")

        let record = try NodeRecord(decoding: old.registry.record.encoded())
        let handed = old.export("r1")
        old.kill()
        let new = try TestNode("a", port: server.port, timeout: 2_000, record: record)
        try new.importRoom("r1", view: handed.view, local: handed.local)
        #expect(new.start() == .started)
        #expect(eventually { new.subscriber.status.state == .ready })
        usleep(2_500_000)  // past a timeout: the other node would have reaped a node that stopped beating
        #expect(new.view("r1") == oldView)
        #expect(new.sent("r1") == [], "the new process pushes nothing")
        #expect(b.sent("r1").count == quiet, "no other node saw a leave or a join")
        #expect(b.reaps.withLock { $0 } == [])
        #expect(inspector.fields("r1") == ["a|a.0", "b|b.0"])
        // The new process goes on as the node: its member leaves as usual.
        new.leave("r1", owner: 1)
        #expect(eventually { b.view("r1").keys.sorted() == ["bob"] })
        for node in [new, b] { node.kill() }
        inspector.close()
    }
}
