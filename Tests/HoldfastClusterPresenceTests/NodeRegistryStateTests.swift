import HoldfastClusterPresence
import HoldfastRedis
import Testing

@Suite struct NodeRegistryStateTests {
    let record = NodeRecord(name: "n1", token: "host:1:abc")

    func running(imported: Bool = false) -> NodeRegistryState {
        var state = NodeRegistryState(record: record, timeoutMilliseconds: 5_000, imported: imported)
        _ = state.start(now: 0)
        if imported {
            _ = state.claimed(.heldBy(record.token), now: 1)
        } else {
            _ = state.claimed(.acquired, now: 1)
            _ = state.reaped("n1", rooms: 0, now: 2)
        }
        _ = state.heartbeatReplied(.renewed(at: 1_000), now: 3)
        return state
    }

    @Test func aFreshStartClaimsThenClearsWhatAnEarlierProcessOfTheNameLeft() {
        var state = NodeRegistryState(record: record, timeoutMilliseconds: 5_000)
        #expect(state.tickMilliseconds == 1_000 && state.deadAfterMilliseconds == 3_000)
        #expect(state.start(now: 0) == [.claim])
        #expect(state.claimed(.acquired, now: 5) == [.reap("n1", force: true)])
        #expect(state.phase == .clearing)
        #expect(state.reaped("n1", rooms: 2, now: 6) == [.started, .heartbeat(announce: true)])
        #expect(state.phase == .running)
    }

    @Test func anUpgradedProcessContinuesUnderItsOwnTokenWithoutClearing() {
        var state = NodeRegistryState(record: record, timeoutMilliseconds: 5_000, imported: true)
        _ = state.start(now: 0)
        #expect(state.claimed(.heldBy("host:1:abc"), now: 1) == [.started, .heartbeat(announce: true)])
    }

    @Test func anUpgradedProcessWhoseTokenWasGoneRewritesItsEntries() {
        var state = NodeRegistryState(record: record, timeoutMilliseconds: 5_000, imported: true)
        _ = state.start(now: 0)
        #expect(state.claimed(.acquired, now: 1) == [.started, .ownershipLost, .heartbeat(announce: false)])
        _ = state.heartbeatReplied(.renewed(at: 5), now: 2)
        #expect(state.tick(now: 1_000) == [.heartbeat(announce: false), .survey], "not listed while it rewrites")
        state.entriesRewritten()
        _ = state.heartbeatReplied(.renewed(at: 6), now: 1_001)
        #expect(state.tick(now: 2_000) == [.heartbeat(announce: true)])
    }

    @Test func aNameHeldByAnotherLiveProcessIsRefusedOnceItOutlivesTheTimeout() {
        var state = NodeRegistryState(record: record, timeoutMilliseconds: 5_000)
        _ = state.start(now: 0)
        // The holder may be a crashed process whose key has not expired: wait it out.
        #expect(state.claimed(.heldBy("other:7:f"), now: 10) == [])
        #expect(state.tick(now: 1_000) == [.claim])
        #expect(state.tick(now: 1_500) == [], "one claim at a time")
        #expect(state.claimed(.failed(.notConnected), now: 1_600) == [])
        #expect(state.tick(now: 2_000) == [.claim])
        #expect(
            state.claimed(.heldBy("other:7:f"), now: 6_000)
                == [.startFailed(.nameTaken(name: "n1", holder: "other:7:f"))])
        #expect(state.phase == .failed)
        #expect(state.tick(now: 7_000) == [])
    }

    @Test func ticksHeartbeatAndSurveyOneAtATime() {
        var state = running()
        #expect(state.tick(now: 1_000) == [.heartbeat(announce: true), .survey])
        #expect(state.tick(now: 2_000) == [], "both still in flight")
        _ = state.heartbeatReplied(.renewed(at: 5), now: 2_100)
        #expect(state.tick(now: 3_000) == [.heartbeat(announce: true)])
    }

    @Test func aBinaryUpgradeBeatsAtOnceUnderAGraceUntilRolledBack() {
        var state = running()
        #expect(state.beginHandoff(graceMilliseconds: 7_500) == [.heartbeat(announce: true)])
        #expect(state.handoffGraceMilliseconds == 7_500)
        #expect(state.tick(now: 1_000) == [.survey], "the graced beat is still in flight")
        _ = state.heartbeatReplied(.renewed(at: 5), now: 1_100)
        #expect(state.beginHandoff(graceMilliseconds: 7_500) == [.heartbeat(announce: true)])
        _ = state.heartbeatReplied(.renewed(at: 6), now: 1_200)
        state.endHandoff()
        #expect(state.handoffGraceMilliseconds == 0)
        var idle = NodeRegistryState(record: record, timeoutMilliseconds: 5_000)
        #expect(idle.beginHandoff(graceMilliseconds: 7_500) == [], "not running: nothing to beat")
    }

    @Test func aNodeBeatingUnderAGraceIsLiveAndShownAsBeatingNow() {
        var state = running()
        _ = state.tick(now: 1_000)
        let nodes = [
            NodeHeartbeat(name: "n1", lastHeartbeatMilliseconds: 100_000),
            NodeHeartbeat(name: "n2", lastHeartbeatMilliseconds: 104_000),
        ]
        #expect(state.surveyed(redisNow: 100_000, nodes: nodes, now: 1_100) == [])
        #expect(state.liveNodes.map(\.lastHeartbeatMilliseconds) == [100_000, 100_000])
    }

    @Test func aNodeThreeBeatsLateIsReapedByTheNodeThatWinsTheLock() {
        var state = running()
        _ = state.tick(now: 1_000)
        let nodes = [
            NodeHeartbeat(name: "n1", lastHeartbeatMilliseconds: 100_000),
            NodeHeartbeat(name: "n2", lastHeartbeatMilliseconds: 99_500),
            NodeHeartbeat(name: "n3", lastHeartbeatMilliseconds: 96_999),
        ]
        #expect(state.surveyed(redisNow: 100_000, nodes: nodes, now: 1_100) == [.lockReap("n3")])
        #expect(state.liveNodes.map(\.name) == ["n1", "n2"])
        _ = state.tick(now: 2_000)
        #expect(state.surveyed(redisNow: 101_000, nodes: nodes, now: 2_100) == [], "already being reaped")
        #expect(state.reapLockReplied("n3", won: true, now: 2_200) == [.reap("n3", force: false)])
        #expect(state.reaped("n3", rooms: 4, now: 2_300) == [.nodeReaped(name: "n3", rooms: 4)])
        // Another node won the next time: nothing to do here.
        _ = state.tick(now: 3_000)
        _ = state.surveyed(redisNow: 102_000, nodes: nodes, now: 3_100)
        #expect(state.reapLockReplied("n3", won: false, now: 3_200) == [])
        #expect(state.reaped("n2", rooms: -1, now: 3_300) == [], "it beat again before the script ran")
    }

    @Test func aStalledNodeThatFindsItsTokenGoneRewritesBeforeItCountsAsLiveAgain() {
        var state = running()
        _ = state.tick(now: 1_000)
        #expect(state.heartbeatReplied(.restored(at: 9), now: 1_050) == [.ownershipLost])
        _ = state.surveyed(redisNow: 9, nodes: [], now: 1_060)
        #expect(state.tick(now: 2_000) == [.heartbeat(announce: false), .survey])
        #expect(state.heartbeatReplied(.restored(at: 10), now: 2_050) == [], "one rewrite at a time")
        state.entriesRewritten()
        _ = state.surveyed(redisNow: 10, nodes: [], now: 2_060)
        #expect(state.tick(now: 3_000) == [.heartbeat(announce: true), .survey])
    }

    @Test func aNameTakenOverWhileStalledStopsTheNode() {
        var state = running()
        _ = state.tick(now: 1_000)
        #expect(
            state.heartbeatReplied(.heldBy("new:9:e"), now: 1_050) == [
                .nameLost(.nameTaken(name: "n1", holder: "new:9:e"))
            ])
        #expect(state.tick(now: 2_000) == [])
    }

    @Test func aLiveNodeThatVanishesWithoutAReapIsGoneAfterTheTimeout() {
        var state = running()
        _ = state.tick(now: 0)
        let both = [
            NodeHeartbeat(name: "n1", lastHeartbeatMilliseconds: 50),
            NodeHeartbeat(name: "n2", lastHeartbeatMilliseconds: 50),
        ]
        _ = state.surveyed(redisNow: 100, nodes: both, now: 0)
        _ = state.tick(now: 1_000)
        #expect(state.surveyed(redisNow: 1_100, nodes: [both[0]], now: 1_000) == [], "Redis restarted: wait")
        _ = state.tick(now: 5_001)
        #expect(state.surveyed(redisNow: 5_100, nodes: [both[0]], now: 5_001) == [.nodeGone("n2")])
        _ = state.tick(now: 9_000)
        #expect(state.surveyed(redisNow: 9_100, nodes: [both[0]], now: 9_000) == [])
    }

    @Test func aGracefulStopLeavesAndAnUpgradeStopDoesNot() {
        var graceful = running()
        #expect(graceful.stop(leave: true) == [.leave])
        var upgrade = running(imported: true)
        #expect(upgrade.stop(leave: false) == [])
        #expect(upgrade.tick(now: 1) == [])
    }

    @Test func theRecordCrossesAnUpgradeAsBytes() throws {
        let fresh = NodeRecord.fresh(name: "host:4011")
        #expect(fresh.token != NodeRecord.fresh(name: "host:4011").token)
        #expect(try NodeRecord(decoding: fresh.encoded()) == fresh)
        #expect(throws: NodeRecordDecodingError.malformed) { try NodeRecord(decoding: Array("{}".utf8)) }
    }
}
