import HoldfastChannels
import HoldfastJSON
import HoldfastRooms
import Testing

/// A room whose ids come from its store (a cluster's Redis): provisional ids while the store numbers a message,
/// the sender's reply with the store's id, delivery only when the store delivers, replays cut at the last
/// delivered id.
@Suite struct RoomSequencingTests {
    func storeSequenced(lastID: Int64 = 0) -> RoomHarness {
        var harness = RoomHarness(lastID: lastID)
        harness.room = RoomState(
            topic: "room:lobby",
            configuration: RoomConfiguration(
                presenceRefPrefix: "P", presenceWindowMilliseconds: 20, historyLimit: 50, sequencedByStore: true),
            handler: ScriptedHandler(), lastID: lastID)
        return harness
    }

    func stored(_ id: Int64, _ body: String) -> ChatMessage {
        ChatMessage(id: id, user: "alice", body: body, timestamp: 5, clientID: nil)
    }

    @Test func theSenderHearsTheStoresIdAndMembersGetTheMessageWhenTheStoreDeliversIt() {
        var harness = storeSequenced(lastID: 40)
        harness.settle(member(1, "alice"))
        harness.settle(member(2, "bob"))
        _ = harness.handle(.chat(connectionID: 1, body: "one", clientID: nil, ref: "5"))
        _ = harness.handle(.chat(connectionID: 1, body: "two", clientID: nil, ref: "6"))
        let commit = harness.handle(.commitDue(held: false))
        // Provisional, negative, distinct: the room does not number.
        #expect(commit.persisted.first?.messages.map(\.id) == [-1, -2])
        #expect(harness.room.lastID == 40)

        let numbered = harness.handle(.sequenced(batch: 0, ids: [41, nil]))
        #expect(numbered.broadcasts.isEmpty)  // members get it from the store, not from the sender's node
        #expect(numbered.replies.map(\.status) == ["ok", "error"])
        #expect(numbered.replies.first?.response == .object([JSONMember("id", .integer(41))]))
        #expect(numbered.replies.last?.response == .object([JSONMember("reason", .string("unavailable"))]))

        let delivered = harness.handle(.delivered([stored(41, "one"), stored(42, "other node")], upTo: 42))
        #expect(delivered.broadcasts.map { $0.v2Payload?["id"] } == [.integer(41), .integer(42)])
        #expect(delivered.broadcasts.first?.recipients == 2)
        #expect(harness.room.lastID == 42)
        // Delivered again (a duplicate that got past the feed): nothing.
        #expect(harness.handle(.delivered([stored(42, "other node")], upTo: 42)).broadcasts.isEmpty)
        // A baseline moves the last id without a broadcast.
        #expect(harness.handle(.delivered([], upTo: 50)).isEmpty)
        #expect(harness.room.lastID == 50)
    }

    @Test func aRecoveringJoinIsReplayedUpToTheLastDeliveredIdOnly() {
        var harness = storeSequenced(lastID: 3)
        let recovering = JSONValue.object([JSONMember("last_seen_id", .integer(1))])
        let actions = harness.handle(.join(member(1, "alice"), ref: "j", payload: recovering))
        guard
            case .readHistory(let request)? = actions.first(where: {
                if case .readHistory = $0 { true } else { false }
            })
        else {
            Issue.record("no history read")
            return
        }
        // The read also saw 4, stored after the room's last delivery: it comes live, not in the replay.
        let finished = harness.handle(
            .historyRead(request, messages: [stored(2, "b"), stored(3, "c"), stored(4, "d")], complete: true))
        #expect(finished.joinResults.first?.extra.map { $0.payload["id"] } == [.integer(2), .integer(3)])
    }

    @Test func aClusteredRoomsPresenceDiffCarriesItsPayloadEvenWithNobodyHereToGetIt() {
        var clustered = storeSequenced()
        let first = clustered.settle(member(1, "alice"))
        // The joiner got the whole state; the cluster still needs the diff (with its payload) to store it.
        let shared = first.broadcasts.filter { $0.event == "presence_diff" }
        #expect(shared.count == 1 && shared.first?.recipients == 0)
        #expect(shared.first?.payload?["joins"]?["alice"] != nil)
        #expect(shared.first?.payload?["leaves"] == .object([]))
        let second = clustered.settle(member(2, "bob"))
        #expect(second.broadcasts.filter { $0.event == "presence_diff" }.map(\.recipients) == [1])

        var single = RoomHarness()
        let alone = single.settle(member(1, "alice"))
        #expect(alone.broadcasts.isEmpty, "a single node sends nothing nobody gets")
        let joined = single.settle(member(2, "bob"))
        #expect(joined.broadcasts.map(\.payload) == [nil], "and carries no payload beside its texts")
    }
}
