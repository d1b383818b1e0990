/// A step of a handler swap that runs plugin code, as a rehearsal reports it: a plugin that traps, exits or
/// hangs in a child process is named by the step it was in.
public enum SwapStep: String, Sendable, CaseIterable {
    /// `dlopen` of the plugin (its static initializers run) and the entry-point checks.
    case load
    /// The new code's `migrate(fromVersion:state:)`.
    case migrate
    /// The current code's `downgrade(toVersion:state:)` (rollbacks, upgrades to an older build).
    case downgrade
    /// The new code's `makeHandler(state:)` on the converted state.
    case makeHandler = "make_handler"
    /// The new handler's `exportState()`: what the next swap, or a binary upgrade, calls first.
    case exportState = "export_state"
    /// The new code's `makeHandler(state:)` on its own export: what a binary upgrade to the same build calls.
    case makeHandlerFromExport = "make_handler_from_export"

    /// The plugin hook the step calls, for messages.
    public var hook: String {
        switch self {
        case .load: return "dlopen and its entry points"
        case .migrate: return "migrate(fromVersion:state:)"
        case .downgrade: return "downgrade(toVersion:state:)"
        case .makeHandler: return "makeHandler(state:)"
        case .exportState: return "exportState()"
        case .makeHandlerFromExport: return "makeHandler(state:) on its own exported state"
        }
    }
}
