import HoldfastCluster
import HoldfastRooms
import Testing

@Suite struct RoomFeedTests {
    func message(_ id: Int64) -> ChatMessage {
        ChatMessage(id: id, user: "u", body: "m\(id)", timestamp: 0, clientID: nil)
    }

    @Test func deliversTheNextIdAndDropsDuplicates() {
        var feed = RoomFeed(lastDelivered: 4)
        #expect(feed.received(message(5)) == [.deliver([message(5)])])
        #expect(feed.received(message(5)) == [])
        #expect(feed.received(message(3)) == [])
        #expect(feed.received(message(6)) == [.deliver([message(6)])])
        #expect(feed.lastDelivered == 6)
    }

    @Test func aGapHoldsTheMessageAndReadsTheStream() {
        var feed = RoomFeed(lastDelivered: 1)
        #expect(feed.received(message(4)) == [.fetch(after: 1)])
        // Arrivals during the read wait too, in id order.
        #expect(feed.received(message(6)) == [])
        #expect(feed.received(message(5)) == [])
        #expect(feed.heldCount == 3)
        // The read sees 2..5 (5 was stored before the read ran); 6 follows from what was held.
        let steps = feed.fetched([message(2), message(3), message(4), message(5)], full: false)
        #expect(steps == [.deliver([message(2), message(3), message(4), message(5), message(6)])])
        #expect(feed.lastDelivered == 6)
        #expect(feed.heldCount == 0)
        #expect(!feed.fetching)
    }

    @Test func whatTheStreamLacksIsSkippedAfterTheRead() {
        var feed = RoomFeed(lastDelivered: 1)
        #expect(feed.received(message(5)) == [.fetch(after: 1)])
        #expect(feed.fetched([message(3)], full: false) == [.deliver([message(3), message(5)])])
        #expect(feed.lastDelivered == 5)
    }

    @Test func aConfirmationDuringAReadReadsAgainAfterIt() {
        var feed = RoomFeed(lastDelivered: 0)
        #expect(feed.subscribed() == [.fetch(after: 0)])
        #expect(feed.subscribed() == [])
        #expect(feed.fetched([message(1)], full: false) == [.deliver([message(1)]), .fetch(after: 1)])
        #expect(feed.fetched([], full: false) == [])
        #expect(!feed.fetching)
    }

    @Test func aFullReadContinuesAndAFailedOneReleasesWhatIsHeld() {
        var feed = RoomFeed(lastDelivered: 0)
        #expect(feed.received(message(9)) == [.fetch(after: 0)])
        #expect(
            feed.fetched([message(1), message(2)], full: true) == [
                .deliver([message(1), message(2)]), .fetch(after: 2),
            ])
        #expect(feed.fetchFailed() == [.deliver([message(9)])])
        #expect(feed.lastDelivered == 9)
        feed.advance(to: 20)
        #expect(feed.received(message(15)) == [])
        #expect(feed.received(message(21)) == [.deliver([message(21)])])
    }
}
