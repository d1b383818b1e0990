import Glibc
import HoldfastHistory
import Logging
import Synchronization
import Testing

@Suite struct HistoryWriterTests {
    @Test func everyBatchIsReportedDurableOnceItsMessagesAreStored() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = try HistoryWriter(path: directory.database, keepPerRoom: 100, logger: Logger(label: "test"))
        let reports = Mutex<[String: Bool]>([:])
        writer.submit([message("room:a", 1), message("room:a", 2)]) { durable in reports.withLock { $0["a"] = durable }
        }
        writer.submit([message("room:b", 1)]) { durable in reports.withLock { $0["b"] = durable } }
        try waitUntil { writer.isIdle }
        #expect(reports.withLock { $0 } == ["a": true, "b": true])
        let reader = try HistoryStore(path: directory.database, keepPerRoom: 100)
        #expect(try reader.messages(room: "room:a", after: 0, limit: 10).messages.map(\.id) == [1, 2])
        #expect(try reader.lastID(room: "room:b") == 1)
    }

    @Test func aBadBatchFailsAloneAndTheOthersStillCommit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = try HistoryWriter(path: directory.database, keepPerRoom: 100, logger: Logger(label: "test"))
        writer.submit([message("room:a", 1)]) { _ in }
        try waitUntil { writer.isIdle }
        let reports = Mutex<[String: Bool]>([:])
        // An id that is already stored breaks the batch's transaction; the other batch must not go down with it.
        writer.submit([message("room:a", 1)]) { durable in reports.withLock { $0["duplicate"] = durable } }
        writer.submit([message("room:c", 1)]) { durable in reports.withLock { $0["fine"] = durable } }
        try waitUntil { writer.isIdle }
        #expect(reports.withLock { $0 } == ["duplicate": false, "fine": true])
    }

    /// Polls `condition` for up to five seconds (the writer reports from its own thread).
    private func waitUntil(_ condition: () -> Bool) throws {
        for _ in 0..<500 where !condition() { usleep(10_000) }
        #expect(condition())
    }
}
