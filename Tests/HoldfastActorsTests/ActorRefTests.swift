import Glibc
import HoldfastActors
import HoldfastCore
import HoldfastTestSupport
import Synchronization
import Testing

/// Records, per sender, every sequence number it receives and whether it ran on its home loop.
final class SequenceChecker: ActorBehavior {
    let log: SequenceLog

    init(log: SequenceLog) { self.log = log }

    func handle(_ message: (sender: Int, sequence: Int), context: ActorContext<(sender: Int, sequence: Int)>) {
        if !context.loop.isInLoop { log.offLoop.add(1, ordering: .relaxed) }
        log.received.withLock { $0[message.sender].append(message.sequence) }
    }
}

/// The shared state of ``SequenceChecker`` instances.
final class SequenceLog: Sendable {
    let received: Mutex<[[Int]]>
    let offLoop = Atomic<Int>(0)
    init(senders: Int) { received = Mutex(Array(repeating: [], count: senders)) }
}

@Suite struct ActorRefTests {
    @Test func deliversEveryMessageInOrderPerSenderOnTheHomeLoop() throws {
        try withLoops { group in
            let senders = 4
            let perSender = 25_000
            let log = SequenceLog(senders: senders)
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            let spec = ChildSpec(id: "checker", loop: group.loops[0]) {
                SequenceChecker(log: log)
            }
            let ref = try supervisor.startChild(spec, as: (sender: Int, sequence: Int).self)
            // Three plain threads and the other loop send concurrently.
            var threads: [TestThread] = []
            for sender in 0..<(senders - 1) {
                threads.append(TestThread { for sequence in 0..<perSender { ref.send((sender, sequence)) } })
            }
            for thread in threads { thread.start() }
            group.loops[1].execute { for sequence in 0..<perSender { ref.send((senders - 1, sequence)) } }
            for thread in threads { thread.join() }
            #expect(eventually { log.received.withLock { $0.map(\.count).reduce(0, +) } == senders * perSender })
            let received = log.received.withLock { $0 }
            for sender in 0..<senders {
                #expect(received[sender] == Array(0..<perSender), "sender \(sender) out of order or lossy")
            }
            let offLoop = log.offLoop.load(ordering: .relaxed)
            #expect(offLoop == 0)
            #expect(ref.mailboxDepth == 0)
            supervisor.shutdown()
        }
    }

    @Test func injectedFaultCrashesBetweenMessagesAndLaterMessagesReachTheNewInstance() throws {
        try withLoops { group in
            let probe = Probe()
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            let ref: ActorRef<Command> = try supervisor.startChild(counterSpec("c", probe: probe, loop: group.loops[1]))
            ref.send(.value(1))
            ref.send(.value(2))
            ref.injectFault()
            ref.send(.value(3))
            #expect(eventually { probe.log.count == 3 })
            #expect(probe.values(ofInstance: 1) == [1, 2])
            #expect(probe.values(ofInstance: 2) == [3])
            #expect(probe.log.last?.total == 3, "the new instance starts from a fresh state")
            #expect(ref.restartCount == 1)
            #expect(supervisor.restartCount(of: "c") == 1)
            supervisor.shutdown()
        }
    }

    @Test func messagesSentWhileRestartingAreDeliveredAfterwards() throws {
        try withLoops { group in
            let probe = Probe()
            let restarting = Atomic<Bool>(false)
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            // Restarts take 100 ms; messages sent meanwhile must wait for the new instance.
            let spec = ChildSpec(id: "slow", loop: group.loops[0]) { () -> Counter in
                if probe.startCount > 0 {
                    restarting.store(true, ordering: .relaxed)
                    usleep(100_000)
                }
                return Counter(probe: probe)
            }
            let ref: ActorRef<Command> = try supervisor.startChild(spec)
            ref.send(.value(1))
            ref.send(.crash)
            #expect(eventually { restarting.load(ordering: .relaxed) })
            for value in 2...100 { ref.send(.value(value)) }
            #expect(eventually { probe.log.count == 100 })
            #expect(probe.values(ofInstance: 1) == [1])
            #expect(probe.values(ofInstance: 2) == Array(2...100))
            supervisor.shutdown()
        }
    }

    @Test func terminatedActorsDropMessages() throws {
        try withLoops { group in
            let probe = Probe()
            let supervisor = try Supervisor(name: "root", strategy: .oneForOne)
            let ref: ActorRef<Command> = try supervisor.startChild(counterSpec("c", probe: probe, loop: group.loops[0]))
            #expect(ref.isAlive)
            #expect(supervisor.terminateChild("c"))
            #expect(!ref.isAlive)
            #expect(!ref.send(.value(1)))
            #expect(!supervisor.terminateChild("c"))
            settle()
            #expect(probe.log.isEmpty)
        }
    }
}
