import HoldfastAPI
import HoldfastHTTP
import HoldfastJSON
import HoldfastRooms
import Synchronization
import Testing

/// A publish's wait replies once, with every room's answer in topic order, whether it finishes in this process or
/// is carried through a binary upgrade and finished in the next.
struct PublishWaitTests {
    final class Replies: Sendable {
        let all = Mutex<[HTTPResponse]>([])
        var sink: @Sendable (HTTPResponse) -> Void { { response in self.all.withLock { $0.append(response) } } }
        var bodies: [JSONValue] { all.withLock { $0 }.compactMap { try? JSON.parse($0.body) } }
        var statuses: [Int] { all.withLock { $0 }.map(\.status.rawValue) }
    }

    static let broadcast = AwaitedPublish(
        keepAlive: true,
        topics: [
            AwaitedPublish.Topic(topic: "room:a", state: .done(.success(4))),
            AwaitedPublish.Topic(topic: "room:b", state: .waiting(ticket: 9)),
            AwaitedPublish.Topic(topic: "room:c", state: .waiting(ticket: 10)),
        ])

    @Test func aCarriedBroadcastRepliesOnceWithEveryResultInTopicOrder() throws {
        let replies = Replies()
        let wait = PublishWait(resuming: Self.broadcast, reply: replies.sink)
        #expect(wait.awaited == Self.broadcast)
        let waiting = wait.resume()
        #expect(waiting.map(\.ticket) == [9, 10] && waiting.map(\.index) == [1, 2])
        wait.finish(2, PublishOutcome.refused("nope").apiResult)
        #expect(replies.statuses.isEmpty)
        wait.finish(1, PublishOutcome.stored(id: 5).apiResult)
        wait.finish(1, PublishOutcome.stored(id: 6).apiResult)  // a second answer for a topic does not count
        #expect(replies.statuses == [200])
        let results = try #require(replies.bodies.first?["results"])
        #expect(
            results
                == .array([
                    .object([JSONMember("topic", .string("room:a")), JSONMember("id", .integer(4))]),
                    .object([JSONMember("topic", .string("room:b")), JSONMember("id", .integer(5))]),
                    .object([
                        JSONMember("topic", .string("room:c")),
                        JSONMember(
                            "error",
                            .object([JSONMember("code", .string("refused")), JSONMember("message", .string("nope"))])),
                    ]),
                ]))
    }

    @Test func aSinglePublishRepliesWithItsIdOrItsError() throws {
        for (outcome, status) in [(PublishOutcome.stored(id: 12), 200), (.failed, 503), (.refused("x"), 422)] {
            let replies = Replies()
            let awaited = AwaitedPublish(
                keepAlive: false, topics: [AwaitedPublish.Topic(topic: "room:a", state: .waiting(ticket: 1))])
            let wait = PublishWait(resuming: awaited, reply: replies.sink)
            #expect(wait.resume().count == 1)
            wait.finish(0, outcome.apiResult)
            #expect(replies.statuses == [status])
            if status == 200 { #expect(replies.bodies == [.object([JSONMember("id", .integer(12))])]) }
        }
    }

    @Test func aWaitWithEveryTopicAnsweredRepliesWhenResumed() {
        let replies = Replies()
        let answered = AwaitedPublish(
            keepAlive: true, topics: [AwaitedPublish.Topic(topic: "room:a", state: .done(.success(3)))])
        let wait = PublishWait(resuming: answered, reply: replies.sink)
        #expect(replies.statuses.isEmpty)
        #expect(wait.resume().isEmpty)
        #expect(replies.bodies == [.object([JSONMember("id", .integer(3))])])
    }
}
