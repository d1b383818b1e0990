public import HoldfastHandlerAPI

/// Why a migration was abandoned. Nothing has changed when one is thrown: the old handler keeps its state.
public enum PluginMigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The state conversion (`migrate` of the new code, or `downgrade` of the old code on a rollback) threw.
    case migrationFailed(from: String, to: String, reason: String)
    /// The new code's `makeHandler(state:)` threw on the converted state.
    case initFailed(version: String, reason: String)
    /// The new handler reports another version than its factory.
    case versionMismatch(factory: String, handler: String)

    /// The name of the check that failed, stable for machine use.
    public var check: String {
        switch self {
        case .migrationFailed: return "migration_failed"
        case .initFailed: return "init_failed"
        case .versionMismatch: return "version_mismatch"
        }
    }

    public var description: String {
        switch self {
        case .migrationFailed(let from, let to, let reason):
            return "state migration from \(from) to \(to) failed: \(reason); the current handlers keep serving unchanged"
        case .initFailed(let version, let reason):
            return "handlers \(version) refused the migrated state: \(reason); the current handlers keep serving unchanged"
        case .versionMismatch(let factory, let handler):
            return "plugin factory reports version \(factory) but its handler \(handler): fix the plugin; nothing changed"
        }
    }
}

/// A handler built from migrated state, not yet published.
public struct MigratedHandler: Sendable {
    public let handler: any RoomHandler
    public let fromVersion: String
    public let toVersion: String
    /// Size of the state the old handler exported and of the state the new one was built from.
    public let exportedBytes: Int
    public let migratedBytes: Int
    /// Time spent in the old handler's `exportState`, in the conversion, and in `makeHandler`.
    public let exportDuration: Duration
    public let convertDuration: Duration
    public let initDuration: Duration

    /// Export, conversion and construction together: how long the rooms must stay suspended.
    public var totalDuration: Duration { exportDuration + convertDuration + initDuration }
}

/// Moves a handler's state to other code, like OTP's `code_change`: export from the old handler, convert,
/// build the new handler. All-or-nothing: the old handler is only read, and the caller publishes the result
/// (or drops it); any throw leaves everything as it was.
///
/// The caller must keep the rooms from calling the old handler between the export and the publication,
/// or calls made in between are lost with the old state.
public enum StateMigration {
    /// To other code: the new code converts with `migrate(fromVersion:state:)`; when it does not know the current
    /// format (an upgrade to an older build), the current code converts with `downgrade(toVersion:state:)` if
    /// `currentFactory` is given. Same version: the state is reused as is.
    public static func migrate(
        from handler: any RoomHandler, to factory: any HandlerFactory, currentFactory: (any HandlerFactory)? = nil
    ) throws(PluginMigrationError) -> MigratedHandler {
        try run(from: handler, to: factory) { fromVersion, state in
            guard fromVersion != factory.pluginVersion else { return state }
            do {
                return try factory.migrate(fromVersion: fromVersion, state: state)
            } catch let forward {
                guard let currentFactory else { throw forward }
                do {
                    return try currentFactory.downgrade(toVersion: factory.pluginVersion, state: state)
                } catch let backward {
                    throw ConversionRefused(reason: "\(forward); and the current code cannot downgrade either: \(backward)")
                }
            }
        }
    }

    /// Back to older code that does not know the current format: the current code converts with
    /// `downgrade(toVersion:state:)`, the older code builds the handler.
    public static func rollback(
        from handler: any RoomHandler, currentFactory: any HandlerFactory, to factory: any HandlerFactory
    ) throws(PluginMigrationError) -> MigratedHandler {
        try run(from: handler, to: factory) { fromVersion, state in
            fromVersion == factory.pluginVersion
                ? state : try currentFactory.downgrade(toVersion: factory.pluginVersion, state: state)
        }
    }

    private static func run(
        from handler: any RoomHandler, to factory: any HandlerFactory,
        convert: (String, [UInt8]) throws -> [UInt8]
    ) throws(PluginMigrationError) -> MigratedHandler {
        let clock = ContinuousClock()
        let fromVersion = handler.version
        let toVersion = factory.pluginVersion
        let start = clock.now
        let exported = handler.exportState()
        let exportedAt = clock.now
        let converted: [UInt8]
        do {
            converted = try convert(fromVersion, exported)
        } catch {
            throw .migrationFailed(from: fromVersion, to: toVersion, reason: String(describing: error))
        }
        let convertedAt = clock.now
        let newHandler: any RoomHandler
        do {
            newHandler = try factory.makeHandler(state: converted)
        } catch {
            throw .initFailed(version: toVersion, reason: String(describing: error))
        }
        let builtAt = clock.now
        guard newHandler.version == toVersion else {
            throw .versionMismatch(factory: toVersion, handler: newHandler.version)
        }
        return MigratedHandler(
            handler: newHandler, fromVersion: fromVersion, toVersion: toVersion,
            exportedBytes: exported.count, migratedBytes: converted.count,
            exportDuration: exportedAt - start, convertDuration: convertedAt - exportedAt,
            initDuration: builtAt - convertedAt)
    }
}

/// Neither side of a migration knows how to convert the state.
struct ConversionRefused: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
