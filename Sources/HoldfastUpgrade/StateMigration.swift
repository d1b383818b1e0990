public import HoldfastHandlerAPI

/// Why a migration was abandoned. Nothing has changed when one is thrown: the old handler keeps its state.
public enum PluginMigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The state conversion (`migrate` of the new code, or `downgrade` of the old code on a rollback) threw.
    case migrationFailed(from: String, to: String, reason: String)
    /// The new code's `makeHandler(state:)` threw on the converted state.
    case initFailed(version: String, reason: String)
    /// The new handler reports another version than its factory.
    case versionMismatch(factory: String, handler: String)
    /// The new code's `makeHandler(state:)` threw on the state its own handler exported (found by a rehearsal:
    /// the next binary upgrade would fail on it).
    case exportUnreadable(version: String, reason: String)
    /// The handler settings file (`server.handler_config`) cannot be read or is not JSON.
    case configInvalid(path: String, reason: String)

    /// The name of the check that failed, stable for machine use.
    public var check: String {
        switch self {
        case .migrationFailed: return "migration_failed"
        case .initFailed: return "init_failed"
        case .versionMismatch: return "version_mismatch"
        case .exportUnreadable: return "export_unreadable"
        case .configInvalid: return "config_invalid"
        }
    }

    public var description: String {
        switch self {
        case .migrationFailed(let from, let to, let reason):
            return
                "state migration from \(from) to \(to) failed: \(reason); the current handlers keep serving unchanged"
        case .initFailed(let version, let reason):
            return
                "handlers \(version) refused the migrated state: \(reason); the current handlers keep serving unchanged"
        case .versionMismatch(let factory, let handler):
            return
                "plugin factory reports version \(factory) but its handler \(handler): fix the plugin; nothing changed"
        case .exportUnreadable(let version, let reason):
            return "handlers \(version) cannot read back the state their own handler exported: \(reason); the"
                + " current handlers keep serving unchanged"
        case .configInvalid(let path, let reason):
            return "handler config \(path): \(reason); the current handlers keep serving unchanged"
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
///
/// The conversion and construction are also public on their own
/// (``convertForward(_:fromVersion:to:currentFactory:observe:)``,
/// ``convertBack(_:fromVersion:currentFactory:to:observe:)``, ``build(_:state:config:observe:)``): a rehearsal in a
/// child process (``SwapRehearsal``) runs exactly the code a swap runs, on state exported beforehand.
public enum StateMigration {
    /// To other code: the new code converts with `migrate(fromVersion:state:)`; when it does not know the current
    /// format (an upgrade to an older build), the current code converts with `downgrade(toVersion:state:)` if
    /// `currentFactory` is given. Same version: the state is reused as is.
    public static func migrate(
        from handler: any RoomHandler, to factory: any HandlerFactory, currentFactory: (any HandlerFactory)? = nil,
        config: HandlerValue = .null
    ) throws(PluginMigrationError) -> MigratedHandler {
        try run(from: handler, to: factory, config: config) {
            (fromVersion, state) throws(PluginMigrationError) -> [UInt8] in
            try convertForward(state, fromVersion: fromVersion, to: factory, currentFactory: currentFactory)
        }
    }

    /// Back to older code that does not know the current format: the current code converts with
    /// `downgrade(toVersion:state:)`, the older code builds the handler.
    public static func rollback(
        from handler: any RoomHandler, currentFactory: any HandlerFactory, to factory: any HandlerFactory,
        config: HandlerValue = .null
    ) throws(PluginMigrationError) -> MigratedHandler {
        try run(from: handler, to: factory, config: config) {
            (fromVersion, state) throws(PluginMigrationError) -> [UInt8] in
            try convertBack(state, fromVersion: fromVersion, currentFactory: currentFactory, to: factory)
        }
    }

    /// The conversion of an upgrade: `state` exported by version `fromVersion`, converted for `factory` (see
    /// ``migrate(from:to:currentFactory:)``). `observe` hears each plugin hook just before it is called.
    public static func convertForward(
        _ state: [UInt8], fromVersion: String, to factory: any HandlerFactory,
        currentFactory: (any HandlerFactory)?, observe: (SwapStep) -> Void = { _ in }
    ) throws(PluginMigrationError) -> [UInt8] {
        let toVersion = factory.pluginVersion
        guard fromVersion != toVersion else { return state }
        do {
            observe(.migrate)
            return try factory.migrate(fromVersion: fromVersion, state: state)
        } catch let forward {
            guard let currentFactory else {
                throw .migrationFailed(from: fromVersion, to: toVersion, reason: String(describing: forward))
            }
            do {
                observe(.downgrade)
                return try currentFactory.downgrade(toVersion: toVersion, state: state)
            } catch let backward {
                throw .migrationFailed(
                    from: fromVersion, to: toVersion,
                    reason: "\(forward); and the current code cannot downgrade either: \(backward)")
            }
        }
    }

    /// The conversion of a rollback: the current code downgrades `state` (its own, version `fromVersion`) to the
    /// format of `factory`; the same version is reused as is.
    public static func convertBack(
        _ state: [UInt8], fromVersion: String, currentFactory: any HandlerFactory, to factory: any HandlerFactory,
        observe: (SwapStep) -> Void = { _ in }
    ) throws(PluginMigrationError) -> [UInt8] {
        let toVersion = factory.pluginVersion
        guard fromVersion != toVersion else { return state }
        do {
            observe(.downgrade)
            return try currentFactory.downgrade(toVersion: toVersion, state: state)
        } catch {
            throw .migrationFailed(from: fromVersion, to: toVersion, reason: String(describing: error))
        }
    }

    /// Builds `factory`'s handler from converted `state` (with the operator's `config` for the plugin) and checks
    /// that it reports the factory's version.
    public static func build(
        _ factory: any HandlerFactory, state: [UInt8]?, config: HandlerValue = .null,
        observe: (SwapStep) -> Void = { _ in }
    ) throws(PluginMigrationError) -> any RoomHandler {
        let version = factory.pluginVersion
        let handler: any RoomHandler
        do {
            observe(.makeHandler)
            handler = try factory.makeHandler(state: state, config: config)
        } catch {
            throw .initFailed(version: version, reason: String(describing: error))
        }
        guard handler.version == version else {
            throw .versionMismatch(factory: version, handler: handler.version)
        }
        return handler
    }

    private static func run(
        from handler: any RoomHandler, to factory: any HandlerFactory, config: HandlerValue,
        convert: (String, [UInt8]) throws(PluginMigrationError) -> [UInt8]
    ) throws(PluginMigrationError) -> MigratedHandler {
        let clock = ContinuousClock()
        let fromVersion = handler.version
        let toVersion = factory.pluginVersion
        let start = clock.now
        let exported = handler.exportState()
        let exportedAt = clock.now
        let converted = try convert(fromVersion, exported)
        let convertedAt = clock.now
        let newHandler = try build(factory, state: converted, config: config)
        let builtAt = clock.now
        return MigratedHandler(
            handler: newHandler, fromVersion: fromVersion, toVersion: toVersion,
            exportedBytes: exported.count, migratedBytes: converted.count,
            exportDuration: exportedAt - start, convertDuration: convertedAt - exportedAt,
            initDuration: builtAt - convertedAt)
    }
}
