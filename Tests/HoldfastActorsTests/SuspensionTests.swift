import HoldfastActors
import HoldfastCore
import HoldfastTestSupport
import Synchronization
import Testing

@Suite struct SuspensionTests {
    @Test func suspendedActorsQueueMessagesAndResumeOnTheNewCodeInOrder() throws {
        try withLoops { group in
            let probe = Probe()
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            let ref: ActorRef<Command> = try supervisor.startChild(counterSpec("c", probe: probe, loop: group.loops[1]))
            ref.send(.value(1))
            let suspendedInLoop = Atomic<Int>(0)
            ref.suspend { suspendedInLoop.store(ref.loop.isInLoop ? 1 : -1, ordering: .relaxed) }
            #expect(eventually { suspendedInLoop.load(ordering: .relaxed) != 0 })
            let inLoop = suspendedInLoop.load(ordering: .relaxed)
            #expect(inLoop == 1)
            for value in 2...11 { ref.send(.value(value)) }
            settle()
            #expect(probe.log.map(\.value) == [1])
            #expect(ref.mailboxDepth == 10)
            let changed = Atomic<Bool>(false)
            ref.withSuspended { suspended in
                do {
                    try suspended.changeCode { old in CounterV2(from: old as! Counter) }
                    changed.store(true, ordering: .relaxed)
                } catch {}
            }
            #expect(eventually { probe.log.count == 11 })
            let didChange = changed.load(ordering: .relaxed)
            #expect(didChange)
            let after = probe.log.dropFirst()
            #expect(after.map(\.value) == Array(2...11))
            #expect(after.allSatisfy { $0.version == 2 && $0.instance == 1 })
            #expect(after.last?.total == 1 + 2 * (2...11).reduce(0, +), "the new code continues the old state")
            supervisor.shutdown()
        }
    }

    @Test func aCodeChangeThatThrowsKeepsTheOldBehaviorAndState() throws {
        try withLoops { group in
            let probe = Probe()
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            let ref: ActorRef<Command> = try supervisor.startChild(counterSpec("c", probe: probe, loop: group.loops[0]))
            ref.send(.value(10))
            #expect(eventually { probe.log.count == 1 })
            let outcome = Mutex<String>("")
            ref.withSuspended { suspended in
                do {
                    try suspended.changeCode { _ in throw Crash() }
                    outcome.withLock { $0 = "changed" }
                } catch {
                    let total = (suspended.behavior as? Counter)?.total
                    outcome.withLock { $0 = total == 10 ? "kept" : "lost \(String(describing: total))" }
                }
            }
            ref.send(.value(5))
            #expect(eventually { probe.log.count == 2 })
            let result = outcome.withLock { $0 }
            #expect(result == "kept")
            #expect(probe.log.last == Probe.Entry(instance: 1, version: 1, value: 5, total: 15))
            supervisor.shutdown()
        }
    }

    @Test func aCodeChangeInstallsTheFactoryLaterRestartsUse() throws {
        try withLoops { group in
            let probe = Probe()
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            let ref: ActorRef<Command> = try supervisor.startChild(counterSpec("c", probe: probe, loop: group.loops[0]))
            ref.withSuspended { suspended in
                try? suspended.changeCode(restartWith: { CounterV2(from: Counter(probe: probe)) }) { old in
                    CounterV2(from: old as! Counter)
                }
            }
            ref.send(.crash)  // v2 crashes on anything but a value
            ref.send(.value(3))
            #expect(eventually { probe.log.count == 1 })
            #expect(probe.log.first?.version == 2)
            #expect(probe.log.first?.instance == 2)
            supervisor.shutdown()
        }
    }
}
