/// Why a handler swap or rollback was refused. Nothing changed when one is thrown.
public enum PluginUpgradeError: Error, Sendable, Equatable, CustomStringConvertible {
    case load(PluginLoadError)
    case migration(PluginMigrationError)
    /// The rehearsal in a child process refused the plugin (``PluginValidator``).
    case validation(PluginValidationError)
    /// The swap in the server (rooms suspended) did not finish within `milliseconds`: it was abandoned and the
    /// rooms resumed with the current handler. The call it was in never returned (see ``CommitGate``).
    case swapTimedOut(milliseconds: Int)
    /// Another upgrade or rollback is running.
    case upgradeInProgress
    /// A swap abandoned at its deadline is still running inside plugin code, holding the registry.
    case abandonedSwapStillRunning
    /// The swap finished after its deadline had abandoned it; its result was dropped (never answered: the caller
    /// was told ``swapTimedOut(milliseconds:)``).
    case abandoned
    /// ``PluginRegistry/start(with:state:)`` has not run yet.
    case notStarted
    /// There is no earlier version to roll back to.
    case noPreviousVersion

    /// The name of the check that failed, stable for machine use (admin answers, logs).
    public var check: String {
        switch self {
        case .load(let error): return error.check
        case .migration(let error): return error.check
        case .validation(let error): return error.check
        case .swapTimedOut: return "swap_timeout"
        case .upgradeInProgress, .abandonedSwapStillRunning: return "upgrade_in_progress"
        case .abandoned: return "swap_abandoned"
        case .notStarted: return "not_started"
        case .noPreviousVersion: return "no_previous_version"
        }
    }

    /// The HTTP status of the admin answer.
    public var httpStatus: Int {
        switch self {
        case .load, .migration, .noPreviousVersion: return 422
        case .validation(let error): return error.httpStatus
        case .swapTimedOut, .abandoned: return 504
        case .upgradeInProgress, .abandonedSwapStillRunning: return 409
        case .notStarted: return 503
        }
    }

    public var description: String {
        switch self {
        case .load(let error): return error.description
        case .migration(let error): return error.description
        case .validation(let error): return error.description
        case .swapTimedOut(let milliseconds):
            return "the swap did not finish within \(milliseconds) ms although its rehearsal had passed (plugin code"
                + " that hangs only sometimes): it was abandoned and the current handlers keep serving unchanged; the"
                + " stuck call keeps a thread until the next binary upgrade or restart"
        case .upgradeInProgress: return "another upgrade or rollback is running: retry when it has finished"
        case .abandonedSwapStillRunning:
            return "a swap abandoned at its deadline is still running inside plugin code: no handler swap is possible"
                + " until a binary upgrade or restart"
        case .abandoned: return "the swap finished after its deadline and was dropped"
        case .notStarted: return "no handlers are running yet"
        case .noPreviousVersion: return "no earlier handler version to roll back to"
        }
    }
}
