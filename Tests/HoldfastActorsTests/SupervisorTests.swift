import HoldfastActors
import HoldfastCore
import HoldfastTestSupport
import Synchronization
import Testing

@Suite struct SupervisorTests {
    /// Three counters a, b, c (in start order) on alternating loops, each with its own probe.
    func threeChildren(_ group: EventLoopGroup) -> ([ChildSpec], [Probe]) {
        let probes = [Probe(), Probe(), Probe()]
        let specs = ["a", "b", "c"].enumerated().map { index, id in
            counterSpec(id, probe: probes[index], loop: group.loops[index % 2])
        }
        return (specs, probes)
    }

    @Test func oneForOneRestartsOnlyTheCrashedChildWithStateRebuilt() throws {
        try withLoops { group in
            let (specs, probes) = threeChildren(group)
            let supervisor = try Supervisor(name: "rooms", strategy: .oneForOne, children: specs)
            let b = try #require(supervisor.child("b", as: Command.self))
            b.send(.value(5))
            b.send(.crash)
            b.send(.value(7))
            #expect(eventually { probes[1].log.count == 2 })
            #expect(probes.map(\.startCount) == [1, 2, 1])
            #expect(probes[1].log.last == Probe.Entry(instance: 2, version: 1, value: 7, total: 7))
            #expect(supervisor.restartCount == 1)
            #expect(supervisor.restartCount(of: "a") == 0)
            #expect(supervisor.restartCount(of: "b") == 1)
            supervisor.shutdown()
        }
    }

    @Test func oneForAllRestartsEveryChild() throws {
        try withLoops { group in
            let (specs, probes) = threeChildren(group)
            let supervisor = try Supervisor(name: "presence", strategy: .oneForAll, children: specs)
            supervisor.child("b", as: Command.self)?.injectFault()
            #expect(eventually { probes.map(\.startCount) == [2, 2, 2] })
            settle()
            #expect(probes.map(\.startCount) == [2, 2, 2])
            #expect(supervisor.restartCount == 1)
            supervisor.shutdown()
        }
    }

    @Test func restForOneRestartsTheCrashedChildAndThoseStartedAfterIt() throws {
        try withLoops { group in
            let (specs, probes) = threeChildren(group)
            let supervisor = try Supervisor(name: "chain", strategy: .restForOne, children: specs)
            supervisor.child("b", as: Command.self)?.send(.crash)
            #expect(eventually { probes.map(\.startCount) == [1, 2, 2] })
            settle()
            #expect(probes.map(\.startCount) == [1, 2, 2])
            supervisor.shutdown()
        }
    }

    @Test func temporaryChildrenAreNotRestartedAndTransientOnlyOnCrash() throws {
        try withLoops { group in
            let temporary = Probe()
            let transient = Probe()
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            let t: ActorRef<Command> = try supervisor.startChild(
                counterSpec("t", probe: temporary, loop: group.loops[0], restart: .temporary))
            let tr: ActorRef<Command> = try supervisor.startChild(
                counterSpec("tr", probe: transient, loop: group.loops[1], restart: .transient))
            t.send(.crash)
            #expect(eventually { !t.isAlive })
            #expect(temporary.startCount == 1)
            tr.send(.crash)
            #expect(eventually { transient.startCount == 2 })
            tr.send(.stop)
            #expect(eventually { !tr.isAlive })
            settle()
            #expect(transient.startCount == 2)
            #expect(supervisor.childIDs.isEmpty)
        }
    }

    @Test func exceedingIntensityEscalatesToTheParentWhichRestartsTheSubtree() throws {
        try withLoops { group in
            let escalations = Mutex<[Escalation]>([])
            let root = try Supervisor(name: "root", strategy: .oneForOne, maxRestarts: 5) { escalation in
                escalations.withLock { $0.append(escalation) }
            }
            let probe = Probe()
            let rooms = try Supervisor(
                name: "rooms", strategy: .oneForOne, maxRestarts: 2, withinMilliseconds: 60_000,
                children: [counterSpec("lobby", probe: probe, loop: group.loops[1])], parent: root)
            #expect(root.childIDs == ["rooms"])
            let lobby = try #require(rooms.child("lobby", as: Command.self))
            // Two restarts are tolerated; the third crash makes "rooms" give up, and "root" restarts it.
            for _ in 0..<3 { lobby.send(.crash) }
            lobby.send(.value(1))
            #expect(eventually { probe.log.count == 1 })
            #expect(probe.startCount == 4)
            #expect(probe.log.first?.instance == 4)
            #expect(root.restartCount == 1)
            #expect(root.restartCount(of: "rooms") == 1)
            #expect(rooms.isRunning)
            let escalated = escalations.withLock { $0.count }
            #expect(escalated == 0)
            root.shutdown()
            #expect(!lobby.isAlive)
        }
    }

    @Test func theRootGivesUpThroughTheEscalationHandler() throws {
        try withLoops { group in
            let escalations = Mutex<[Escalation]>([])
            let probe = Probe()
            let root = try Supervisor(
                name: "root", strategy: .oneForOne, maxRestarts: 1,
                children: [counterSpec("presence", probe: probe, loop: group.loops[0])]
            ) { escalation in
                escalations.withLock { $0.append(escalation) }
            }
            let presence = try #require(root.child("presence", as: Command.self))
            presence.send(.crash)
            presence.send(.crash)
            #expect(eventually { escalations.withLock { $0.count } == 1 })
            let escalation = try #require(escalations.withLock { $0.first })
            #expect(escalation.supervisor == "root")
            #expect(escalation.child == "presence")
            #expect(escalation.restartsInPeriod == 2)
            #expect(!root.isRunning)
            #expect(eventually { !presence.isAlive })
            #expect(probe.startCount == 2)
            #expect(throws: SupervisorError.self) {
                _ = try root.startChild(counterSpec("late", probe: probe, loop: group.loops[0]), as: Command.self)
            }
        }
    }

    @Test func restartsOutsideThePeriodDoNotCount() throws {
        try withLoops { group in
            let clock = Atomic<Int64>(0)
            let probe = Probe()
            let supervisor = try Supervisor(
                name: "root", strategy: .oneForOne, maxRestarts: 1, withinMilliseconds: 1000,
                children: [counterSpec("c", probe: probe, loop: group.loops[0])]
            ) { _ in } clock: {
                clock.load(ordering: .relaxed)
            }
            let child = try #require(supervisor.child("c", as: Command.self))
            for crash in 1...3 {
                clock.store(Int64(crash) * 2000, ordering: .relaxed)
                child.send(.crash)
                #expect(eventually { probe.startCount == crash + 1 })
            }
            #expect(supervisor.isRunning)
            supervisor.shutdown()
        }
    }

    @Test func specsAreValidatedUpFront() throws {
        try withLoops { group in
            let probe = Probe()
            let loop = group.loops[0]
            #expect {
                _ = try Supervisor(
                    name: "root", strategy: .oneForOne,
                    children: [counterSpec("x", probe: probe, loop: loop), counterSpec("x", probe: probe, loop: loop)])
            } throws: { error in
                guard case SupervisorError.duplicateChildID("x") = error else { return false }
                return true
            }
            #expect(throws: SupervisorError.self) {
                _ = try Supervisor(name: "root", strategy: .oneForOne, maxRestarts: -1)
            }
            let failing = ChildSpec(id: "bad", loop: loop) { () throws -> Counter in throw Crash() }
            #expect(throws: SupervisorError.self) {
                _ = try Supervisor(name: "root", strategy: .oneForOne, children: [failing])
            }
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            _ = try supervisor.startChild(counterSpec("x", probe: probe, loop: loop), as: Command.self)
            #expect(throws: SupervisorError.self) {
                _ = try supervisor.startChild(counterSpec("x", probe: probe, loop: loop), as: Command.self)
            }
            #expect(probe.startCount == 1, "the duplicate was rejected before its factory ran")
            supervisor.shutdown()
        }
    }
}
