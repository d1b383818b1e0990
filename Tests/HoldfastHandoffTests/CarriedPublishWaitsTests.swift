import HoldfastAPI
import HoldfastHTTP
import HoldfastHandoff
import HoldfastRooms
import Synchronization
import Testing

/// The new process matches the waits handed-over API connections carry with the rooms' pending messages.
struct CarriedPublishWaitsTests {
    static func room(_ topic: String, tickets: [UInt64]) -> RoomSnapshot {
        RoomSnapshot(
            topic: topic, lastID: 10, presence: nil, awaitingState: [],
            pending: tickets.map {
                PendingMessage(
                    message: ChatMessage(id: 10, user: "backend", body: "b", timestamp: 1, clientID: nil),
                    senderConnectionID: 0, ref: nil, ticket: $0)
            })
    }

    @Test func eachRoomAnswersItsTicketsAndAWaitNoRoomHoldsIsAnsweredNotStored() {
        let statuses = Mutex<[Int]>([])
        let awaited = AwaitedPublish(
            keepAlive: true,
            topics: [
                AwaitedPublish.Topic(topic: "room:a", state: .waiting(ticket: 7)),
                AwaitedPublish.Topic(topic: "room:b", state: .waiting(ticket: 8)),
            ])
        let broadcast = PublishWait(resuming: awaited) { response in statuses.withLock { $0.append(response.status.rawValue) } }
        let lost = PublishWait(
            resuming: AwaitedPublish(
                keepAlive: true, topics: [AwaitedPublish.Topic(topic: "room:gone", state: .waiting(ticket: 3))])
        ) { response in statuses.withLock { $0.append(response.status.rawValue) } }
        let carried = CarriedPublishWaits(
            [broadcast, lost], rooms: [Self.room("room:a", tickets: [7, 11]), Self.room("room:b", tickets: [8])],
            numbering: nil)
        #expect(statuses.withLock { $0 } == [503])  // the lost one, at once
        #expect(carried.lastTicket == 11)
        #expect(Set(carried.answers(for: "room:a").keys) == [7] && Set(carried.answers(for: "room:b").keys) == [8])
        carried.answers(for: "room:a")[7]?(.stored(id: 11))
        #expect(statuses.withLock { $0 } == [503])
        carried.answers(for: "room:b")[8]?(.stored(id: 12))
        #expect(statuses.withLock { $0 } == [503, 200])
    }
}
