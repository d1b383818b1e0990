import Glibc
public import HoldfastHandlerAPI
import HoldfastJSON

/// The operator's settings for the handler plugin: a JSON file (`server.handler_config`) handed to the plugin's
/// `makeHandler(state:config:)`. Read again at every start, swap and rollback, so an edited file takes effect with
/// the next swap; a file that cannot be read or parsed refuses that swap (nothing changes).
public enum HandlerConfig {
    /// The largest file read: settings, not data.
    public static let maxBytes = 1 << 20

    /// The settings in the file at `path`; `.null` for an empty path. Throws a reason an operator can act on.
    public static func load(path: String) throws(PluginMigrationError) -> HandlerValue {
        guard !path.isEmpty else { return .null }
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { throw failure(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw failure(path, "cannot read: \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= maxBytes else { throw failure(path, "larger than \(maxBytes) bytes") }
        }
        do {
            return HandlerValue(try JSON.parse(bytes))
        } catch {
            throw failure(path, "not JSON: \(error)")
        }
    }

    private static func failure(_ path: String, _ reason: String) -> PluginMigrationError {
        .configInvalid(path: path, reason: reason)
    }
}
