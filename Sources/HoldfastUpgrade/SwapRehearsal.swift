public import HoldfastHandlerAPI

/// A handler swap to rehearse in a child process before the server loads the plugin: which plugin to swap to,
/// which one serves now, and the current handler's state exported just before (while the rooms keep running).
///
/// Encoded with the plugin state codec (``BinaryWriter``): a 4-byte magic `HFR` + format version, the kind,
/// the paths, the version and the settings path as strings, then the exported state as the rest of the input.
/// Parent and child are the same binary, so the format needs no compatibility with other builds.
public struct SwapRehearsal: Sendable, Equatable {
    /// Which swap is rehearsed.
    public enum Kind: UInt8, Sendable {
        /// `POST /admin/upgrade`: the new code migrates (or the current code downgrades) the state.
        case upgrade = 1
        /// `POST /admin/rollback`: the current code downgrades the state, the previous code takes it.
        case rollback = 2
    }

    public var kind: Kind
    /// The plugin to swap to.
    public var targetPath: String
    /// The plugin serving now (loaded by the child only when its code takes part in the conversion).
    public var currentPath: String
    /// The version of the handler serving now, which exported ``state``.
    public var currentVersion: String
    /// The current handler's `exportState()`.
    public var state: [UInt8]
    /// The handler settings file (`server.handler_config`; empty: none), read by the child as the swap reads it.
    public var configPath: String

    public init(
        kind: Kind, targetPath: String, currentPath: String, currentVersion: String, state: [UInt8],
        configPath: String = ""
    ) {
        self.kind = kind
        self.targetPath = targetPath
        self.currentPath = currentPath
        self.currentVersion = currentVersion
        self.state = state
        self.configPath = configPath
    }

    private static let magic: [UInt8] = [0x48, 0x46, 0x52, 2]  // "HFR", format 2

    /// The bytes the server writes to the child's standard input.
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 64 + targetPath.utf8.count + currentPath.utf8.count + state.count)
        for byte in Self.magic { writer.write(byte) }
        writer.write(kind.rawValue)
        writer.write(targetPath)
        writer.write(currentPath)
        writer.write(currentVersion)
        writer.write(configPath)
        writer.bytes += state
        return writer.bytes
    }

    /// Decodes what ``encoded()`` wrote.
    public init(decoding bytes: [UInt8]) throws(StateDecodingError) {
        var reader = BinaryReader(bytes)
        for expected in Self.magic {
            let offset = reader.offset
            guard try reader.readByte() == expected else {
                throw StateDecodingError(offset: offset, reason: "not a swap rehearsal request (or another format)")
            }
        }
        let kindOffset = reader.offset
        guard let kind = Kind(rawValue: try reader.readByte()) else {
            throw StateDecodingError(offset: kindOffset, reason: "unknown rehearsal kind")
        }
        self.kind = kind
        targetPath = try reader.readString()
        currentPath = try reader.readString()
        currentVersion = try reader.readString()
        configPath = try reader.readString()
        state = Array(bytes[reader.offset...])
    }
}
