import HoldfastHistory
import Testing

/// A message in `room` with id `id`, with fields derived from both so mix-ups show.
func message(_ room: String, _ id: Int64, body: String? = nil, clientID: String? = nil) -> StoredMessage {
    StoredMessage(
        room: room, id: id, user: "user-\(id % 3)", body: body ?? "{\"text\":\"\(room) #\(id)\"}",
        timestamp: 1_700_000_000_000 + id, clientID: clientID)
}

@Suite struct HistoryStoreTests {
    @Test func appendedMessagesReadBackInOrderWithEveryField() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try HistoryStore(path: directory.database, keepPerRoom: 100)
        let sent = [message("room:lobby", 1, clientID: "c-1"), message("room:lobby", 2), message("room:lobby", 3)]
        try store.append(sent)

        let (found, complete) = try store.messages(room: "room:lobby", after: 0, limit: 10)
        #expect(found == sent)
        #expect(complete)
        #expect(try store.lastID(room: "room:lobby") == 3)
        #expect(try store.messages(room: "room:lobby", after: 1, limit: 10).messages == Array(sent[1...]))
        #expect(try store.messages(room: "room:lobby", after: 0, limit: 2).messages == Array(sent[..<2]))
    }

    @Test func eachRoomHasItsOwnIdsAndHistory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try HistoryStore(path: directory.database, keepPerRoom: 100)
        #expect(try store.lastID(room: "room:a") == 0)
        try store.append([message("room:a", 1), message("room:b", 1), message("room:a", 2)])
        try store.append([message("room:b", 2), message("room:b", 3)])

        #expect(try store.lastID(room: "room:a") == 2)
        #expect(try store.lastID(room: "room:b") == 3)
        #expect(try store.lastID(room: "room:c") == 0)
        #expect(try store.messages(room: "room:a", after: 0, limit: 10).messages.map(\.id) == [1, 2])
        #expect(try store.messages(room: "room:b", after: 0, limit: 10).messages.map(\.id) == [1, 2, 3])
        #expect(try store.messages(room: "room:c", after: 0, limit: 10) == ([], true))
    }

    @Test func roomsAreTrimmedToTheNewestKeepPerRoom() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try HistoryStore(path: directory.database, keepPerRoom: 5)
        for id in Int64(1)...12 {
            try store.append([message("room:a", id)])
        }
        try store.append([message("room:b", 1), message("room:b", 2)])

        #expect(try store.messages(room: "room:a", after: 0, limit: 100).messages.map(\.id) == [8, 9, 10, 11, 12])
        #expect(try store.messages(room: "room:b", after: 0, limit: 100).messages.map(\.id) == [1, 2])
        // Trimming never lowers the id a restarted room numbers from.
        #expect(try store.lastID(room: "room:a") == 12)
    }

    @Test func replayIsIncompleteOnlyWhenMissedMessagesWereTrimmed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try HistoryStore(path: directory.database, keepPerRoom: 5)
        try store.append((Int64(1)...12).map { message("room:a", $0) })  // keeps 8...12

        #expect(try store.messages(room: "room:a", after: 3, limit: 100).complete == false)
        #expect(try store.messages(room: "room:a", after: 6, limit: 100).complete == false)
        // 7 seen: 8...12 are all still there.
        #expect(
            try store.messages(room: "room:a", after: 7, limit: 100) == ((8...12).map { message("room:a", $0) }, true))
        #expect(try store.messages(room: "room:a", after: 10, limit: 100).complete)
        #expect(try store.messages(room: "room:a", after: 12, limit: 100) == ([], true))
        #expect(try store.messages(room: "room:a", after: 40, limit: 100) == ([], true))
        // A client that saw nothing gets what is kept, flagged as incomplete.
        #expect(try store.messages(room: "room:a", after: 0, limit: 100).complete == false)
    }

    @Test func reopeningAfterCloseKeepsEveryAcknowledgedMessage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try HistoryStore(path: directory.database, keepPerRoom: 3)
        try first.append((Int64(1)...5).map { message("room:a", $0) })
        try first.append([message("room:b", 1, body: "", clientID: "")])
        first.close()
        #expect(throws: HistoryError.closed) { try first.lastID(room: "room:a") }

        let second = try HistoryStore(path: directory.database, keepPerRoom: 3)
        defer { second.close() }
        #expect(try second.lastID(room: "room:a") == 5)
        #expect(
            try second.messages(room: "room:a", after: 0, limit: 10) == ((3...5).map { message("room:a", $0) }, false))
        #expect(try second.messages(room: "room:a", after: 2, limit: 10).complete)
        #expect(
            try second.messages(room: "room:b", after: 0, limit: 10).messages == [
                message("room:b", 1, body: "", clientID: "")
            ])
        try second.append([message("room:a", 6)])
        #expect(try second.lastID(room: "room:a") == 6)
    }

    @Test func aBatchOfAThousandMessagesIsOneAppend() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try HistoryStore(path: directory.database, keepPerRoom: 1_000)
        let batch = (Int64(1)...1_000).map { message("room:big", $0) }
        try store.append(batch)
        #expect(try store.messages(room: "room:big", after: 0, limit: 5_000) == (batch, true))
        try store.append([message("room:big", 1_001)])
        #expect(try store.messages(room: "room:big", after: 0, limit: 5_000).messages.first?.id == 2)
    }

    @Test func injectionLikeRoomNamesAndBodiesAreStoredVerbatim() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try HistoryStore(path: directory.database, keepPerRoom: 10)
        let room = "room:'; DROP TABLE messages; --"
        let bodies = [
            "Robert'); DROP TABLE messages;--", "\" OR 1=1 --", "?1 ?2 :name @x $y", "nul\u{0}inside", "héllo 🚀", "",
        ]
        let sent = bodies.enumerated().map { message(room, Int64($0.offset + 1), body: $0.element, clientID: "%'_") }
        try store.append(sent)
        #expect(try store.messages(room: room, after: 0, limit: 10).messages == sent)
        #expect(try store.messages(room: "room:%", after: 0, limit: 10).messages.isEmpty)
        #expect(try store.lastID(room: room) == 6)
    }
}
