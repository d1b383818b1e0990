import HoldfastCore
import HoldfastTestSupport
import Synchronization
import Testing

/// A room's deliveries to members spread over two running event loops: each loop gets its share as one task, runs
/// it on its own thread, prepares each run of broadcasts once, and every member sees the room's order.
@Suite struct FanOutByLoopTests {
    final class Member: Sendable {
        let name: String
        let loop: EventLoop
        init(_ name: String, on loop: EventLoop) {
            self.name = name
            self.loop = loop
        }
    }

    struct Delivery: Equatable {
        var member: String
        var messages: [String]
        var onOwnLoop: Bool
    }

    @Test func eachLoopRunsItsMembersDeliveriesOnItsOwnThreadInTheRoomsOrder() throws {
        let loops = [try EventLoop(index: 0), try EventLoop(index: 1)]
        let threads = loops.map { loop in TestThread { loop.run() } }
        for thread in threads { thread.start() }
        defer {
            for loop in loops { loop.stop() }
            for thread in threads { thread.join() }
        }
        let members = [
            [Member("a0", on: loops[0]), Member("b0", on: loops[0])],
            [Member("a1", on: loops[1]), Member("publisher1", on: loops[1])],
        ]
        let delivered = Mutex<[Delivery]>([])
        let prepared = Mutex<[Int: Int]>([:])
        let publisher = members[1][1]

        // Filled on this thread, as a room fills it on its home loop.
        var outgoing = FanOutByLoop<Member, String>()
        for message in ["m1", "m2"] {
            for group in members { outgoing.to(group[0].loop).broadcast(message, to: group) }
        }
        outgoing.to(publisher.loop).deliver(to: publisher) {
            delivered.withLock { $0.append(Delivery(member: "publisher1", messages: ["reply"], onOwnLoop: publisher.loop.isInLoop)) }
        }
        for group in members { outgoing.to(group[0].loop).broadcast("m3", to: group) }
        outgoing.send(
            prepare: { run in
                for loop in loops where loop.isInLoop { prepared.withLock { $0[loop.index, default: 0] += 1 } }
                return Array(run)
            },
            send: { member, run in
                delivered.withLock { $0.append(Delivery(member: member.name, messages: run, onOwnLoop: member.loop.isInLoop)) }
            })

        // A task queued after the fan-out runs after it on the same loop.
        let done = ThreadSemaphore()
        for loop in loops { loop.execute { done.signal() } }
        for _ in loops { #expect(done.wait(timeoutMilliseconds: 10_000)) }

        let all = delivered.withLock { $0 }
        #expect(all.filter { !$0.onOwnLoop }.isEmpty)
        func received(_ name: String) -> [String] { all.filter { $0.member == name }.flatMap(\.messages) }
        for name in ["a0", "b0", "a1"] {
            #expect(received(name) == ["m1", "m2", "m3"])
            // A member without deliveries of its own gets the run in one call.
            #expect(all.filter { $0.member == name }.count == 1)
        }
        #expect(received("publisher1") == ["m1", "m2", "reply", "m3"])
        // Each loop joined its run once for all its members (loop 1 also once per message for its publisher).
        #expect(prepared.withLock { $0[0] } == 1)
        #expect(prepared.withLock { $0[1] } == 1 + 3)
    }
}
