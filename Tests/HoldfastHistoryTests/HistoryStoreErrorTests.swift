import Foundation
import HoldfastHistory
import Testing

@Suite struct HistoryStoreErrorTests {
    @Test func aMissingStateDirectoryFailsToOpenWithAHint() throws {
        let path = "/nonexistent-holdfast-state/history.sqlite3"
        do {
            _ = try HistoryStore(path: path, keepPerRoom: 10)
            Issue.record("opening \(path) should fail")
        } catch {
            guard case .cannotOpen(let reportedPath, _) = error else {
                Issue.record("expected cannotOpen, got \(error)")
                return
            }
            #expect(reportedPath == path)
            #expect(error.description.contains("state_dir exists and is writable"))
        }
    }

    @Test func aFileThatIsNotADatabaseFailsToOpen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try Data(repeating: 0x41, count: 4_096).write(to: URL(fileURLWithPath: directory.database))
        #expect {
            try HistoryStore(path: directory.database, keepPerRoom: 10)
        } throws: { error in
            guard case .cannotOpen = error as? HistoryError else { return false }
            return true
        }
    }

    @Test func keepPerRoomBelowOneIsRejected() {
        #expect(throws: HistoryError.invalidKeepPerRoom(0)) {
            try HistoryStore(path: "/unused", keepPerRoom: 0)
        }
    }

    @Test func idsThatDoNotIncreaseAreRejectedAndTheBatchIsNotStored() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try HistoryStore(path: directory.database, keepPerRoom: 10)
        try store.append([message("room:a", 1), message("room:a", 2)])

        #expect(throws: HistoryError.idNotIncreasing(room: "room:a", id: 2, lastID: 2)) {
            try store.append([message("room:b", 1), message("room:a", 2)])
        }
        #expect(throws: HistoryError.idNotIncreasing(room: "room:a", id: 4, lastID: 5)) {
            try store.append([message("room:a", 5), message("room:a", 4)])
        }
        #expect(try store.lastID(room: "room:a") == 2)
        #expect(try store.lastID(room: "room:b") == 0)
        // The store is still usable after a rolled-back batch.
        try store.append([message("room:a", 3)])
        #expect(try store.lastID(room: "room:a") == 3)
    }

    @Test func errorDescriptionsSayWhatToDo() {
        #expect(
            HistoryError.sqlite(code: 13, message: "database or disk is full", during: "running COMMIT")
                .description.contains("free disk space"))
        #expect(HistoryError.invalidKeepPerRoom(0).description.contains("1 or more"))
    }
}
