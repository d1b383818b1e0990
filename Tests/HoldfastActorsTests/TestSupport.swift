import Glibc
import HoldfastActors
import HoldfastCore
import Synchronization

/// Runs `body` with a started group of two loops, stopped and joined afterwards.
func withLoops(_ body: (EventLoopGroup) throws -> Void) throws {
    let group = try EventLoopGroup(count: 2)
    group.start()
    defer { group.stopAndJoin() }
    try body(group)
}

/// Lets already-queued loop tasks run, for checks that something did *not* happen.
func settle() { usleep(50_000) }

/// What the test actors accept.
enum Command: Sendable {
    case value(Int)
    case crash
    case stop
}

struct Crash: Error {}

/// What one test actor's instances did, shared with the test thread.
final class Probe: Sendable {
    struct Entry: Equatable {
        var instance: Int
        var version: Int
        var value: Int
        var total: Int
    }
    let entries = Mutex<[Entry]>([])
    let starts = Atomic<Int>(0)
    let offLoop = Atomic<Int>(0)

    var log: [Entry] { entries.withLock { $0 } }
    var startCount: Int { starts.load(ordering: .relaxed) }
    func values(ofInstance instance: Int) -> [Int] { log.filter { $0.instance == instance }.map(\.value) }
}

/// A counter: its state is the running total, rebuilt from zero by a restart.
final class Counter: ActorBehavior {
    let probe: Probe
    let instance: Int
    var total = 0
    var version: Int { 1 }

    init(probe: Probe) {
        self.probe = probe
        self.instance = probe.starts.add(1, ordering: .relaxed).newValue
    }

    func handle(_ message: Command, context: ActorContext<Command>) throws {
        if !context.loop.isInLoop { probe.offLoop.add(1, ordering: .relaxed) }
        switch message {
        case .value(let value):
            total += value
            let entry = Probe.Entry(instance: instance, version: version, value: value, total: total)
            probe.entries.withLock { $0.append(entry) }
        case .crash:
            throw Crash()
        case .stop:
            context.stop()
        }
    }
}

/// The next version of ``Counter``: adds twice the value, built from a v1 counter's state.
final class CounterV2: ActorBehavior {
    let probe: Probe
    let instance: Int
    var total: Int

    init(from old: Counter) {
        probe = old.probe
        instance = old.instance
        total = old.total
    }

    func handle(_ message: Command, context: ActorContext<Command>) throws {
        guard case .value(let value) = message else { throw Crash() }
        total += 2 * value
        let entry = Probe.Entry(instance: instance, version: 2, value: value, total: total)
        probe.entries.withLock { $0.append(entry) }
    }
}

func counterSpec(
    _ id: String, probe: Probe, loop: EventLoop, restart: ChildSpec.Restart = .permanent
) -> ChildSpec {
    ChildSpec(id: id, restart: restart, loop: loop) { Counter(probe: probe) }
}
