import HoldfastHandlerAPI

/// What a rehearsal that passed measured.
public struct RehearsalSummary: Sendable, Equatable {
    /// The version swapped from and to.
    public var fromVersion: String
    public var toVersion: String
    /// The size of the converted state, and of the new handler's own export of it.
    public var convertedBytes: Int
    public var exportedBytes: Int
    /// Time spent in each step, in microseconds, in the order they ran (a step may appear twice: `load`).
    public var stepMicroseconds: [StepTiming]

    public struct StepTiming: Sendable, Equatable {
        public var step: SwapStep
        public var microseconds: Int

        public init(step: SwapStep, microseconds: Int) {
            self.step = step
            self.microseconds = microseconds
        }
    }

    public init(
        fromVersion: String, toVersion: String, convertedBytes: Int, exportedBytes: Int, stepMicroseconds: [StepTiming]
    ) {
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.convertedBytes = convertedBytes
        self.exportedBytes = exportedBytes
        self.stepMicroseconds = stepMicroseconds
    }
}

extension SwapRehearsal {
    /// Runs the swap on the exported state, in this process, exactly as the server would (``StateMigration``),
    /// and then what the next swap or a binary upgrade calls on the result: `exportState()` and `makeHandler` on
    /// that export. Meant for a throwaway child process (`holdfast validate-plugin`): a plugin that traps takes
    /// the process with it. `observe` hears each step just before it starts (the child reports it at once, so a
    /// trap is attributed to its step).
    ///
    /// - Throws: the same ``PluginUpgradeError`` the server's swap would throw (`load`, `migration`).
    public func run(observe: (SwapStep) -> Void = { _ in }) throws(PluginUpgradeError) -> RehearsalSummary {
        let clock = ContinuousClock()
        var timings: [RehearsalSummary.StepTiming] = []
        var running: (step: SwapStep, since: ContinuousClock.Instant)?
        func closeStep() {
            guard let (step, since) = running else { return }
            let elapsed = (clock.now - since).components
            timings.append(
                .init(
                    step: step,
                    microseconds: Int(elapsed.seconds) * 1_000_000
                        + Int(elapsed.attoseconds / 1_000_000_000_000)))
            running = nil
        }
        func step(_ next: SwapStep) {
            closeStep()
            observe(next)
            running = (next, clock.now)
        }

        let config: HandlerValue
        do throws(PluginMigrationError) { config = try HandlerConfig.load(path: configPath) } catch {
            throw .migration(error)
        }
        let target = try Self.load(targetPath, step: step)
        let current: LoadedPlugin?
        switch kind {
        case .upgrade:
            // The current code takes part only when the new code cannot read the current format (its downgrade);
            // a current plugin that no longer loads, or whose file now holds another version, is left out.
            let loaded = target.version == currentVersion ? nil : try? Self.load(currentPath, step: step)
            current = loaded?.version == currentVersion ? loaded : nil
        case .rollback:
            current = try Self.load(currentPath, step: step)
        }
        let converted: [UInt8]
        do throws(PluginMigrationError) {
            switch (kind, current) {
            case (.upgrade, _):
                converted = try StateMigration.convertForward(
                    state, fromVersion: currentVersion, to: target.factory, currentFactory: current?.factory,
                    observe: step)
            case (.rollback, let current?):
                converted = try StateMigration.convertBack(
                    state, fromVersion: currentVersion, currentFactory: current.factory, to: target.factory,
                    observe: step)
            case (.rollback, nil):
                preconditionFailure("a rollback loads the current plugin or throws")
            }
        } catch {
            throw .migration(error)
        }
        let exported: [UInt8]
        do throws(PluginMigrationError) {
            let handler = try StateMigration.build(target.factory, state: converted, config: config, observe: step)
            step(.exportState)
            exported = handler.exportState()
        } catch {
            throw .migration(error)
        }
        step(.makeHandlerFromExport)
        do {
            _ = try target.factory.makeHandler(state: exported, config: config)
        } catch {
            throw .migration(.exportUnreadable(version: target.version, reason: String(describing: error)))
        }
        closeStep()
        return RehearsalSummary(
            fromVersion: currentVersion, toVersion: target.version, convertedBytes: converted.count,
            exportedBytes: exported.count, stepMicroseconds: timings)
    }

    private static func load(_ path: String, step: (SwapStep) -> Void) throws(PluginUpgradeError) -> LoadedPlugin {
        step(.load)
        do throws(PluginLoadError) { return try PluginLoader.load(path: path) } catch { throw .load(error) }
    }
}
