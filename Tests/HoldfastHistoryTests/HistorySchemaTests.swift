import Foundation
import HoldfastHistory
import Testing

/// Edits and deletes are entries of their own (schema 2), and a database written by schema 1 is brought up to date
/// on open with its messages intact.
@Suite struct HistorySchemaTests {
    @Test func editsAndDeletesReadBackWithTheirKindAndTarget() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try HistoryStore(path: directory.database, keepPerRoom: 100)
        let entries = [
            message("room:a", 1),
            StoredMessage(room: "room:a", id: 2, user: "user-1", body: "new", timestamp: 2, kind: .edit, target: 1),
            StoredMessage(room: "room:a", id: 3, user: "user-1", body: "", timestamp: 3, kind: .delete, target: 1),
        ]
        try store.append(entries)
        #expect(try store.messages(room: "room:a", after: 0, limit: 10).messages == entries)
        #expect(try store.messages(room: "room:a", after: 1, limit: 10).messages.map(\.kind) == [.edit, .delete])
    }

    @Test func aSchemaOneDatabaseIsMigratedAndKeepsItsMessages() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // The tables exactly as schema 1 created them, with one message.
        let schemaOne = """
            CREATE TABLE schema_version (version INTEGER NOT NULL);
            INSERT INTO schema_version (version) VALUES (1);
            CREATE TABLE messages (room TEXT NOT NULL, id INTEGER NOT NULL, user TEXT NOT NULL, body TEXT NOT NULL,
                ts INTEGER NOT NULL, client_id TEXT, PRIMARY KEY (room, id)) WITHOUT ROWID;
            CREATE TABLE rooms (room TEXT PRIMARY KEY, trimmed_through INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO messages VALUES ('room:a', 1, 'alice', 'old', 10, 'c1');
            """
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [directory.database, schemaOne]
        try sqlite.run()
        sqlite.waitUntilExit()
        #expect(sqlite.terminationStatus == 0)

        let store = try HistoryStore(path: directory.database, keepPerRoom: 100)
        let old = StoredMessage(room: "room:a", id: 1, user: "alice", body: "old", timestamp: 10, clientID: "c1")
        #expect(try store.messages(room: "room:a", after: 0, limit: 10).messages == [old])
        let edit = StoredMessage(
            room: "room:a", id: 2, user: "alice", body: "new", timestamp: 11, kind: .edit, target: 1)
        try store.append([edit])
        #expect(try store.messages(room: "room:a", after: 0, limit: 10).messages == [old, edit])
        store.close()
        // Reopening finds schema 2 and migrates nothing twice.
        let again = try HistoryStore(path: directory.database, keepPerRoom: 100)
        #expect(try again.messages(room: "room:a", after: 0, limit: 10).messages == [old, edit])
    }

    /// A new process taking over opens the database while the running one commits: finding the schema current, it
    /// takes no write lock, so a writer holding the lock throughout (here, another process) does not make it wait
    /// out the busy timeout and fail.
    @Test func aCurrentSchemaOpensWhileAnotherProcessHoldsTheWriteLock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try HistoryStore(path: directory.database, keepPerRoom: 10).append([message("room:a", 1)])
        let sqlite = Process()
        sqlite.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        sqlite.arguments = [directory.database]
        let input = Pipe()
        let output = Pipe()
        sqlite.standardInput = input
        sqlite.standardOutput = output
        try sqlite.run()
        defer {
            try? input.fileHandleForWriting.close()
            sqlite.waitUntilExit()
        }
        input.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\nSELECT 'locked';\n".utf8))
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("locked") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            seen += chunk
        }
        #expect(String(decoding: seen, as: UTF8.self).contains("locked"))
        let store = try HistoryStore(path: directory.database, keepPerRoom: 10)
        #expect(try store.lastID(room: "room:a") == 1)
    }
}
