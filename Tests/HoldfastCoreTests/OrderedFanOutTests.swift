import Testing

@testable import HoldfastCore

/// A room event's deliveries to one loop: runs of broadcasts reach each member in one call, and every member sees
/// everything in the order the room made it.
@Suite struct OrderedFanOutTests {
    final class Member {
        let name: String
        init(_ name: String) { self.name = name }
    }

    /// Runs `fanOut` and returns what each member received, in order, and the calls made.
    private func deliveries(
        _ fanOut: OrderedFanOut<Member, String>, log: Log
    ) -> (received: [String: [String]], calls: Int) {
        var calls = 0
        fanOut.run(prepare: { Array($0) }) { member, messages in
            calls += 1
            log.entries[member.name, default: []] += messages
        }
        return (log.entries, calls)
    }

    final class Log: @unchecked Sendable {
        var entries: [String: [String]] = [:]
    }

    @Test func aRunOfBroadcastsReachesEachMemberInOneCall() {
        let members = [Member("a"), Member("b"), Member("c")]
        let fanOut = OrderedFanOut<Member, String>()
        for message in ["m1", "m2", "m3"] { fanOut.broadcast(message, to: members) }
        let (received, calls) = deliveries(fanOut, log: Log())
        #expect(calls == 3)
        for member in members { #expect(received[member.name] == ["m1", "m2", "m3"]) }
    }

    @Test func aMemberWithItsOwnDeliveriesGetsEverythingInOrder() {
        let members = [Member("a"), Member("b"), Member("publisher")]
        let fanOut = OrderedFanOut<Member, String>()
        let log = Log()
        fanOut.broadcast("m1", to: members)
        fanOut.deliver(to: members[2]) { log.entries["publisher", default: []].append("reply1") }
        fanOut.broadcast("m2", to: members)
        fanOut.deliver(to: members[2]) { log.entries["publisher", default: []].append("reply2") }
        let (received, calls) = deliveries(fanOut, log: log)
        #expect(received["publisher"] == ["m1", "reply1", "m2", "reply2"])
        #expect(received["a"] == ["m1", "m2"])
        #expect(received["b"] == ["m1", "m2"])
        #expect(calls == 4, "a and b once each, the publisher once per broadcast")
    }

    @Test func aChangedMemberListStartsANewRun() {
        let before = [Member("a"), Member("b")]
        let after = before + [Member("joined")]
        let fanOut = OrderedFanOut<Member, String>()
        fanOut.broadcast("m1", to: before)
        fanOut.broadcast("m2", to: after)
        fanOut.broadcast("m3", to: after)
        let (received, _) = deliveries(fanOut, log: Log())
        #expect(received["a"] == ["m1", "m2", "m3"])
        #expect(received["joined"] == ["m2", "m3"])
    }

    @Test func anEqualButSeparateListIsNotTakenForTheSameRun() {
        let members = [Member("a")]
        let copy = members.map { $0 }  // a new buffer
        let fanOut = OrderedFanOut<Member, String>()
        fanOut.broadcast("m1", to: members)
        fanOut.broadcast("m2", to: copy)
        let (received, calls) = deliveries(fanOut, log: Log())
        #expect(received["a"] == ["m1", "m2"])
        #expect(calls == 2)
    }

    @Test func aFewLeftOutKeepTheRunForEveryoneElseAndGetTheRestInOrder() {
        let members = (0..<10).map { Member("m\($0)") }
        let fanOut = OrderedFanOut<Member, String>()
        let log = Log()
        // A held batch's message, which its sender (m0) already has, then the next batch's, with m9's reply.
        #expect(fanOut.broadcast("a1", to: members, except: [members[0]]) == 9)
        #expect(fanOut.broadcast("b1", to: members, except: []) == 10)
        fanOut.deliver(to: members[9]) { log.entries["m9", default: []].append("reply") }
        let (received, calls) = deliveries(fanOut, log: log)
        #expect(received["m0"] == ["b1"])
        #expect(received["m9"] == ["a1", "b1", "reply"])
        for index in 1..<9 { #expect(received["m\(index)"] == ["a1", "b1"]) }
        #expect(calls == 8 + 1 + 2, "one call for each member but the two going step by step")
    }

    @Test func manyLeftOutGetAListOfTheirOwn() {
        let members = (0..<4).map { Member("m\($0)") }
        let fanOut = OrderedFanOut<Member, String>()
        #expect(fanOut.broadcast("a1", to: members, except: [members[0], members[1]]) == 2)
        #expect(fanOut.broadcast("a2", to: members, except: members) == 0)
        let (received, _) = deliveries(fanOut, log: Log())
        #expect(received["m0"] == nil)
        #expect(received["m2"] == ["a1"] && received["m3"] == ["a1"])
    }

    @Test func directedFirstReachesTheMembersWithDeliveriesOfTheirOwnBeforeTheOthers() {
        let members = [Member("a"), Member("b"), Member("publisher")]
        let fanOut = OrderedFanOut<Member, String>()
        fanOut.directedFirst = true
        var order: [String] = []
        fanOut.broadcast("m1", to: members)
        fanOut.deliver(to: members[2]) { order.append("publisher:reply") }
        fanOut.broadcast("m2", to: members)
        fanOut.run(prepare: { Array($0) }) { member, messages in
            order += messages.map { "\(member.name):\($0)" }
        }
        #expect(order == ["publisher:m1", "publisher:reply", "publisher:m2", "a:m1", "a:m2", "b:m1", "b:m2"])
    }

    /// Past `fewDirected` members with deliveries of their own, they are found by hash rather than by comparison:
    /// the same deliveries either way, in order, first or last.
    @Test(arguments: [false, true]) func manyMembersWithDeliveriesOfTheirOwnGetEverythingInOrder(first: Bool) {
        let members = (0..<20).map { Member("m\($0)") }
        let publishers = Array(members[..<(OrderedFanOut<Member, String>.fewDirected + 2)])
        let fanOut = OrderedFanOut<Member, String>()
        fanOut.directedFirst = first
        let log = Log()
        fanOut.broadcast("b1", to: members)
        for publisher in publishers {
            fanOut.deliver(to: publisher) { log.entries[publisher.name, default: []].append("reply") }
        }
        fanOut.broadcast("b2", to: members)
        let (received, calls) = deliveries(fanOut, log: log)
        for publisher in publishers { #expect(received[publisher.name] == ["b1", "reply", "b2"]) }
        for member in members[publishers.count...] { #expect(received[member.name] == ["b1", "b2"]) }
        #expect(calls == (members.count - publishers.count) + 2 * publishers.count)
    }
}
