import Glibc
import HoldfastJSON
import Synchronization

/// Per user, the time (Unix seconds) at or before which the user's connect tokens are refused: set by
/// `POST /api/disconnect` with `refuse_older_tokens`, kept in the state dir (`not-before.json`) so a restart or a
/// binary upgrade keeps refusing them. Safe from any thread.
public final class NotBeforeStore: Sendable {
    public let path: String
    private let entries: Mutex<[String: Int64]>

    /// Loads the file at `path` (missing or unreadable: empty).
    public init(path: String) {
        self.path = path
        entries = Mutex(Self.load(path))
    }

    /// Whether a token of `user` issued at `issuedAt` must be refused. Tokens issued in the same second as the
    /// disconnect are refused too (token times are whole seconds).
    public func refuses(user: String, issuedAt: Int64) -> Bool {
        guard let limit = entries.withLock({ $0[user] }) else { return false }
        return issuedAt <= limit
    }

    /// Refuses the tokens of `user` issued at or before `seconds`; written to disk before it returns.
    @discardableResult
    public func refuse(user: String, before seconds: Int64) -> Bool {
        entries.withLock { entries in
            entries[user] = max(seconds, entries[user] ?? 0)
            return Self.save(entries, to: path)
        }
    }

    static func load(_ path: String) -> [String: Int64] {
        guard let file = fopen(path, "rb") else { return [:] }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        guard let value = try? JSON.parse(bytes, maxDepth: 4), let members = value.objectMembers else { return [:] }
        var result: [String: Int64] = [:]
        for member in members { if let seconds = member.value.integerValue { result[member.key] = seconds } }
        return result
    }

    /// Writes a temporary file, syncs it and renames it over the old one.
    static func save(_ entries: [String: Int64], to path: String) -> Bool {
        let bytes = JSON.encode(
            .object(entries.sorted { $0.key < $1.key }.map { JSONMember($0.key, .integer($0.value)) }))
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return false }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        return written == bytes.count && synced && rename(temporary, path) == 0
    }
}
