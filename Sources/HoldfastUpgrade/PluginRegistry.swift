public import HoldfastHandlerAPI
import Synchronization

/// The handler plugins of the process: every version ever loaded (retained forever, like their images),
/// the current handler rooms call, and the chain of versions for rollback.
///
/// Reading ``handler`` costs a lock and a retain. ``upgrade(to:)`` and ``rollback()`` run the migration
/// outside the lock and publish with one swap; the caller keeps rooms from calling the handler meanwhile
/// (see ``StateMigration``). One upgrade or rollback runs at a time; a concurrent one is refused.
public final class PluginRegistry: Sendable {
    private struct State {
        var loaded: [LoadedPlugin] = []
        /// Versions made current, oldest first; the last one is current.
        var chain: [LoadedPlugin] = []
        var handler: (any RoomHandler)?
        var generation = 0
    }

    private let state = Mutex(State())
    private let busy = Atomic<Bool>(false)
    /// The plugin's settings file (``HandlerConfig``), read at every start, adoption, upgrade and rollback.
    public let configPath: String

    /// - Parameter configPath: `server.handler_config`; empty: plugins get `null` settings.
    public init(configPath: String = "") {
        self.configPath = configPath
    }

    /// The plugin's settings as the file holds them now.
    private func config() throws(PluginUpgradeError) -> HandlerValue {
        do throws(PluginMigrationError) { return try HandlerConfig.load(path: configPath) } catch {
            throw .migration(error)
        }
    }

    /// The handler rooms call now.
    public var handler: (any RoomHandler)? { state.withLock { $0.handler } }
    /// The plugin the current handler comes from.
    public var current: LoadedPlugin? { state.withLock { $0.chain.last } }
    /// The plugin ``rollback()`` returns to.
    public var previous: LoadedPlugin? { state.withLock { $0.chain.dropLast().last } }
    /// The versions made current, oldest first; the last one is current (what a binary upgrade carries over).
    public var chain: [LoadedPlugin] { state.withLock { $0.chain } }
    /// Every plugin loaded so far, in load order (all stay mapped).
    public var loaded: [LoadedPlugin] { state.withLock { $0.loaded } }
    /// Incremented by every published handler.
    public var generation: Int { state.withLock { $0.generation } }
    /// True while a start, adoption, upgrade or rollback runs (or hangs in plugin code).
    public var isBusy: Bool { busy.load(ordering: .acquiring) }

    /// The current handler with the plugins it comes from and ``rollback()`` returns to, read together.
    public var snapshot: (handler: (any RoomHandler)?, current: LoadedPlugin?, previous: LoadedPlugin?) {
        state.withLock { ($0.handler, $0.chain.last, $0.chain.dropLast().last) }
    }

    /// Loads and checks a plugin and keeps it for the life of the process; does not make it current.
    public func load(path: String) throws(PluginUpgradeError) -> LoadedPlugin {
        let plugin: LoadedPlugin
        do throws(PluginLoadError) { plugin = try PluginLoader.load(path: path) } catch { throw .load(error) }
        state.withLock { $0.loaded.append(plugin) }
        return plugin
    }

    /// Makes `plugin` current with a handler built from `state` (nil: fresh state).
    @discardableResult
    public func start(with plugin: LoadedPlugin, state initial: [UInt8]? = nil) throws(PluginUpgradeError)
        -> any RoomHandler
    {
        try exclusively { () throws(PluginUpgradeError) -> any RoomHandler in
            let config = try config()
            let handler: any RoomHandler
            do {
                handler = try plugin.factory.makeHandler(state: initial, config: config)
            } catch {
                throw .migration(.initFailed(version: plugin.version, reason: String(describing: error)))
            }
            state.withLock { state in
                if !state.loaded.contains(where: { $0.factory === plugin.factory }) { state.loaded.append(plugin) }
                state.chain = [plugin]
                state.handler = handler
                state.generation += 1
            }
            return handler
        }
    }

    /// Binary upgrade, new process: continues the previous process's handler. `chain` are its plugins (oldest
    /// first, the last one current) as loaded here; `state` is what its current handler exported under
    /// `version`. When this process's current plugin has another version, its code migrates the state forward
    /// (`migrate`), as a handler upgrade would.
    public func adopt(chain: [LoadedPlugin], state exported: [UInt8], version: String) throws(PluginUpgradeError) {
        guard let current = chain.last else { throw .notStarted }
        try exclusively { () throws(PluginUpgradeError) in
            let converted: [UInt8]
            do {
                converted =
                    version == current.version
                    ? exported : try current.factory.migrate(fromVersion: version, state: exported)
            } catch {
                throw .migration(
                    .migrationFailed(from: version, to: current.version, reason: String(describing: error)))
            }
            let config = try config()
            let handler: any RoomHandler
            do {
                handler = try current.factory.makeHandler(state: converted, config: config)
            } catch {
                throw .migration(.initFailed(version: current.version, reason: String(describing: error)))
            }
            state.withLock { state in
                for plugin in chain where !state.loaded.contains(where: { $0.factory === plugin.factory }) {
                    state.loaded.append(plugin)
                }
                state.chain = chain
                state.handler = handler
                state.generation += 1
            }
        }
    }

    /// Migrates the current handler's state to `plugin` and publishes the new handler, unless `gate` was
    /// abandoned meanwhile (then it throws ``PluginUpgradeError/abandoned`` and publishes nothing).
    @discardableResult
    public func upgrade(to plugin: LoadedPlugin, gate: CommitGate? = nil) throws(PluginUpgradeError) -> MigratedHandler
    {
        try exclusively { () throws(PluginUpgradeError) -> MigratedHandler in
            guard let old = handler else { throw .notStarted }
            let config = try config()
            let migrated: MigratedHandler
            do throws(PluginMigrationError) {
                migrated = try StateMigration.migrate(
                    from: old, to: plugin.factory, currentFactory: current?.factory, config: config)
            } catch { throw .migration(error) }
            guard gate?.commit() ?? true else { throw .abandoned }
            state.withLock {
                $0.chain.append(plugin)
                $0.handler = migrated.handler
                $0.generation += 1
            }
            return migrated
        }
    }

    /// Loads the plugin at `path` and upgrades to it.
    @discardableResult
    public func upgrade(path: String) throws(PluginUpgradeError) -> MigratedHandler {
        try upgrade(to: try load(path: path))
    }

    /// Returns to the previous version, its code converting nothing: the current code downgrades its state.
    /// Publishes nothing when `gate` was abandoned meanwhile (see ``upgrade(to:gate:)``).
    @discardableResult
    public func rollback(gate: CommitGate? = nil) throws(PluginUpgradeError) -> MigratedHandler {
        try exclusively { () throws(PluginUpgradeError) -> MigratedHandler in
            let (old, current, target) = state.withLock { ($0.handler, $0.chain.last, $0.chain.dropLast().last) }
            guard let old, let current else { throw .notStarted }
            guard let target else { throw .noPreviousVersion }
            let config = try config()
            let migrated: MigratedHandler
            do throws(PluginMigrationError) {
                migrated = try StateMigration.rollback(
                    from: old, currentFactory: current.factory, to: target.factory, config: config)
            } catch { throw .migration(error) }
            guard gate?.commit() ?? true else { throw .abandoned }
            state.withLock {
                $0.chain.removeLast()
                $0.handler = migrated.handler
                $0.generation += 1
            }
            return migrated
        }
    }

    private func exclusively<T>(_ body: () throws(PluginUpgradeError) -> T) throws(PluginUpgradeError) -> T {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw .upgradeInProgress
        }
        defer { busy.store(false, ordering: .releasing) }
        return try body()
    }
}
