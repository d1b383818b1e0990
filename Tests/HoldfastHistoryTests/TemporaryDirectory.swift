import Foundation

/// A fresh directory under the system temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("holdfast-history-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The history database path inside the directory, as the server builds it from `state_dir`.
    var database: String { path + "/history.sqlite3" }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
