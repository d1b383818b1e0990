import HoldfastActors
import HoldfastCore
import HoldfastTestSupport
import Synchronization
import Testing

/// Counts messages and records when the expected number arrived.
final class Sink: ActorBehavior {
    let cells: BenchmarkCells
    let expected: Int
    var count = 0

    init(cells: BenchmarkCells, expected: Int) {
        self.cells = cells
        self.expected = expected
    }

    func handle(_ message: Int, context: ActorContext<Int>) {
        count += 1
        if count == expected { cells.done.store(MonotonicClock.nowNanoseconds(), ordering: .relaxed) }
    }
}

/// Bounces a counter with a peer until it reaches the limit.
final class Ponger: ActorBehavior {
    let cells: BenchmarkCells
    let isA: Bool
    let limit: Int
    lazy var peer: ActorRef<Int>? = isA ? cells.peerOfA.withLock { $0 } : cells.peerOfB.withLock { $0 }

    init(cells: BenchmarkCells, isA: Bool, limit: Int) {
        self.cells = cells
        self.isA = isA
        self.limit = limit
    }

    func handle(_ message: Int, context: ActorContext<Int>) {
        if message >= limit {
            cells.done.store(MonotonicClock.nowNanoseconds(), ordering: .relaxed)
            return
        }
        peer?.send(message + 1)
    }
}

/// Shared cells the benchmark behaviors write to (Mutex and Atomic cannot be copied into them).
final class BenchmarkCells: Sendable {
    let done = Atomic<UInt64>(0)
    let peerOfA = Mutex<ActorRef<Int>?>(nil)
    let peerOfB = Mutex<ActorRef<Int>?>(nil)
}

/// Prints ns per message for the actor runtime and for a bare `EventLoop.execute` peer; asserts nothing
/// about time.
@Suite struct ActorBenchmarkTests {
    static let messages = 200_000
    static let roundTrips = 20_000

    @Test func printsTheCostOfSendAndHandle() throws {
        try withLoops { group in
            var report: [String] = []
            for (label, from) in [("same loop", 0), ("other loop", 1)] {
                var samples: [Double] = []
                for _ in 0..<3 { samples.append(try burst(group: group, senderLoop: from)) }
                report.append("burst send+handle, \(label): \(median(samples)) ns/message")
            }
            for (label, from) in [("same loop", 0), ("other loop", 1)] {
                var samples: [Double] = []
                for _ in 0..<3 { samples.append(executePeer(group: group, senderLoop: from)) }
                report.append("peer: bare EventLoop.execute, \(label): \(median(samples)) ns/task")
            }
            for (label, other) in [("same loop", 0), ("two loops", 1)] {
                var samples: [Double] = []
                for _ in 0..<3 { samples.append(try pingPong(group: group, otherLoop: other)) }
                report.append("ping-pong, \(label): \(median(samples)) ns/message (one message in flight)")
            }
            for line in report { print("[actors bench] \(line)") }
        }
    }

    /// One task on `senderLoop` sends a burst to an actor on loop 0; time until the last is handled.
    func burst(group: EventLoopGroup, senderLoop: Int) throws -> Double {
        let cells = BenchmarkCells()
        let count = Self.messages
        let supervisor = try Supervisor(name: "bench", strategy: .oneForOne)
        defer { supervisor.shutdown() }
        let sink: ActorRef<Int> = try supervisor.startChild(
            ChildSpec(id: "sink", loop: group.loops[0]) { Sink(cells: cells, expected: count) })
        let start = MonotonicClock.nowNanoseconds()
        group.loops[senderLoop].execute { for value in 0..<count { sink.send(value) } }
        _ = eventually(timeout: 60_000) { cells.done.load(ordering: .relaxed) != 0 }
        return Double(cells.done.load(ordering: .relaxed) - start) / Double(count)
    }

    /// The same burst as bare closures through `EventLoop.execute`.
    func executePeer(group: EventLoopGroup, senderLoop: Int) -> Double {
        let cells = BenchmarkCells()
        let handled = Atomic<Int>(0)
        let count = Self.messages
        let target = group.loops[0]
        let start = MonotonicClock.nowNanoseconds()
        group.loops[senderLoop].execute {
            for _ in 0..<count {
                target.execute {
                    if handled.add(1, ordering: .relaxed).newValue == count {
                        cells.done.store(MonotonicClock.nowNanoseconds(), ordering: .relaxed)
                    }
                }
            }
        }
        _ = eventually(timeout: 60_000) { cells.done.load(ordering: .relaxed) != 0 }
        return Double(cells.done.load(ordering: .relaxed) - start) / Double(count)
    }

    /// Two actors (on loop 0 and on `otherLoop`) bounce one message; time per hop.
    func pingPong(group: EventLoopGroup, otherLoop: Int) throws -> Double {
        let cells = BenchmarkCells()
        let limit = Self.roundTrips * 2
        let supervisor = try Supervisor(name: "bench", strategy: .oneForOne)
        defer { supervisor.shutdown() }
        let a: ActorRef<Int> = try supervisor.startChild(
            ChildSpec(id: "a", loop: group.loops[0]) { Ponger(cells: cells, isA: true, limit: limit) })
        let b: ActorRef<Int> = try supervisor.startChild(
            ChildSpec(id: "b", loop: group.loops[otherLoop]) {
                Ponger(cells: cells, isA: false, limit: limit)
            })
        cells.peerOfA.withLock { $0 = b }
        cells.peerOfB.withLock { $0 = a }
        let start = MonotonicClock.nowNanoseconds()
        a.send(0)
        _ = eventually(timeout: 60_000) { cells.done.load(ordering: .relaxed) != 0 }
        return Double(cells.done.load(ordering: .relaxed) - start) / Double(limit)
    }

    func median(_ samples: [Double]) -> Int { Int(samples.sorted()[samples.count / 2]) }
}
