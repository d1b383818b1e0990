/// Why the rehearsal of a swap in a child process (``PluginValidator``) refused a plugin. Nothing changed in the
/// server when one is thrown: the rehearsal runs before anything is loaded or suspended.
public enum PluginValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The plugin failed a check or its migration threw, as it would have in the server: `check` and `reason`
    /// are the ones the server itself would answer (`abi_mismatch`, `migration_failed`, ...).
    case refused(check: String, reason: String)
    /// The child died from `signal` in `step` (a Swift trap is SIGILL or SIGTRAP, a bad pointer SIGSEGV).
    /// `detail` is the end of its standard error (the runtime's "Fatal error: ..." line).
    case trapped(step: SwapStep?, signal: Int32, detail: String)
    /// The child exited with `status` in `step` without a verdict (plugin code called `exit`).
    case exited(step: SwapStep?, status: Int32, detail: String)
    /// The child did not finish within the deadline and was killed; it was in `step`.
    case timedOut(step: SwapStep?, milliseconds: Int)
    /// The child could not be started (`reason` says why).
    case unavailable(reason: String)
    /// The child finished but its report could not be understood.
    case unreadableReport(detail: String)

    /// The name of the check that failed, stable for machine use.
    public var check: String {
        switch self {
        case .refused(let check, _): return check
        case .trapped: return "plugin_trapped"
        case .exited: return "plugin_exited"
        case .timedOut: return "plugin_timeout"
        case .unavailable: return "validation_unavailable"
        case .unreadableReport: return "validation_failed"
        }
    }

    /// The HTTP status of the admin answer: 422 for a plugin at fault, 504 for a deadline (the plugin hangs, or
    /// the machine is too loaded: retry or raise the deadline), 500 when the server could not rehearse at all.
    public var httpStatus: Int {
        switch self {
        case .refused, .trapped, .exited: return 422
        case .timedOut: return 504
        case .unavailable, .unreadableReport: return 500
        }
    }

    public var description: String {
        switch self {
        case .refused(_, let reason):
            return reason
        case .trapped(let step, let signal, let detail):
            return "the plugin crashed with \(Self.signalName(signal)) in \(Self.describe(step)) while the swap was"
                + " rehearsed in a separate process\(Self.suffix(detail)); it was not loaded into the server and the"
                + " current handlers keep serving unchanged"
        case .exited(let step, let status, let detail):
            return "the plugin ended the rehearsal process with exit status \(status) in \(Self.describe(step))"
                + "\(Self.suffix(detail)); the current handlers keep serving unchanged"
        case .timedOut(let step, let milliseconds):
            return "the rehearsal of the swap did not finish within \(milliseconds) ms (it was in"
                + " \(Self.describe(step))) and was killed; the current handlers keep serving unchanged. A plugin that"
                + " hangs is refused this way; on a very loaded machine, raise upgrade.plugin_validation_timeout_ms"
        case .unavailable(let reason):
            return "the swap could not be rehearsed in a separate process (\(reason)); nothing changed"
        case .unreadableReport(let detail):
            return "the rehearsal process answered something unexpected (\(detail)); nothing changed"
        }
    }

    /// `SIGILL` for 4 and so on; `signal N` for the ones a plugin does not usually die from.
    public static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV",
            13: "SIGPIPE", 15: "SIGTERM", 31: "SIGSYS",
        ]
        return names[signal] ?? "signal \(signal)"
    }

    private static func describe(_ step: SwapStep?) -> String {
        guard let step else { return "its start, before loading the plugin" }
        return "step \(step.rawValue) (\(step.hook))"
    }

    private static func suffix(_ detail: String) -> String {
        detail.isEmpty ? "" : ": \(detail)"
    }
}
