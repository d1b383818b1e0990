/// Rehearses a handler swap in a throwaway child process before the server loads the plugin into its own
/// address space: a plugin that traps (a Swift trap cannot be caught in-process), exits or hangs there is
/// refused with a typed error, and the server never ran a line of it.
///
/// The child is the server's own binary (`/proc/self/exe`, so the same build even if the file on disk was
/// replaced) run as `holdfast validate-plugin`. It reads a ``SwapRehearsal`` on its standard input (the current
/// handler's state, exported by the server), runs ``SwapRehearsal/run(observe:)`` and writes a
/// ``RehearsalReport`` on its standard output. Costs one process start, two `dlopen`s and the conversion: tens
/// of milliseconds, spent before the rooms are suspended, so clients are served throughout.
public struct PluginValidator: Sendable {
    /// What a passed rehearsal measured, and how long the whole child took.
    public struct Validation: Sendable {
        public var summary: RehearsalSummary
        public var elapsedMilliseconds: Double
    }

    /// The binary to run (normally `/proc/self/exe`), its argv[0] and arguments.
    public var executable: String
    public var argv0: String
    public var arguments: [String]
    /// The child's environment, `NAME=value` entries.
    public var environment: [String]
    /// The child is killed after this long.
    public var timeoutMilliseconds: Int

    /// The subcommand of `holdfast` that runs a rehearsal.
    public static let subcommand = "validate-plugin"

    public init(
        executable: String, argv0: String, arguments: [String], environment: [String], timeoutMilliseconds: Int
    ) {
        self.executable = executable
        self.argv0 = argv0
        self.arguments = arguments
        // A trap would otherwise start Swift's backtracer in the child, which can take seconds to symbolicate.
        self.environment = environment.filter { !$0.hasPrefix("SWIFT_BACKTRACE=") } + ["SWIFT_BACKTRACE=enable=no"]
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The running binary as `holdfast validate-plugin`, named `argv0` in process listings.
    public static func sameBinary(argv0: String, environment: [String], timeoutMilliseconds: Int) -> PluginValidator {
        PluginValidator(
            executable: "/proc/self/exe", argv0: argv0, arguments: [subcommand], environment: environment,
            timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Runs `rehearsal` in a child and waits for it (blocks the calling thread up to the deadline).
    public func validate(_ rehearsal: SwapRehearsal) throws(PluginValidationError) -> Validation {
        let outcome: RehearsalProcess.Outcome
        do throws(RehearsalProcess.SpawnFailed) {
            outcome = try RehearsalProcess.run(
                path: executable, argv0: argv0, arguments: arguments, environment: environment,
                input: rehearsal.encoded(), timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            throw .unavailable(reason: error.description)
        }
        let summary = try Self.verdict(
            report: RehearsalReport(parsing: outcome.output), termination: outcome.termination,
            timedOut: outcome.timedOut, timeoutMilliseconds: timeoutMilliseconds, errorTail: outcome.errorTail
        ).get()
        return Validation(summary: summary, elapsedMilliseconds: outcome.elapsedMilliseconds)
    }

    /// What a finished child means: its report read together with how it ended. A verdict counts only with the
    /// exit status that goes with it (0 passed, 1 refused); a signal is a trap whatever was written before.
    public static func verdict(
        report: RehearsalReport, termination: RehearsalTermination, timedOut: Bool, timeoutMilliseconds: Int,
        errorTail: [UInt8]
    ) -> Result<RehearsalSummary, PluginValidationError> {
        if timedOut { return .failure(.timedOut(step: report.lastStep, milliseconds: timeoutMilliseconds)) }
        let detail = diagnostic(errorTail)
        switch (termination, report.verdict) {
        case (.signaled(let signal), _):
            return .failure(.trapped(step: report.lastStep, signal: signal, detail: detail))
        case (.exited(0), .passed(let summary)?) where report.unreadable.isEmpty:
            return .success(summary)
        case (.exited(1), .refused(let check, let reason)?) where report.unreadable.isEmpty:
            return .failure(.refused(check: check, reason: reason))
        case (.exited(let status), nil) where report.unreadable.isEmpty:
            return .failure(.exited(step: report.lastStep, status: status, detail: detail))
        case (.exited(let status), _):
            let lines = report.unreadable.prefix(3).map { String($0.prefix(120)) }.joined(separator: " | ")
            let stderr = detail.isEmpty ? "" : "; stderr: \(detail)"
            return .failure(.unreadableReport(detail: "exit status \(status), unexpected output: \(lines)\(stderr)"))
        }
    }

    /// The line of the child's standard error worth showing: the runtime's "Fatal error" line if there is one,
    /// else the last non-empty line, at most 300 characters.
    public static func diagnostic(_ errorTail: [UInt8]) -> String {
        let lines = String(decoding: errorTail, as: UTF8.self).split(separator: "\n").map {
            $0.trimmingCharacters(in: " \t\r")
        }.filter { !$0.isEmpty }
        let chosen = lines.last { $0.contains("Fatal error") } ?? lines.last ?? ""
        return String(chosen.prefix(300))
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var view = self
        while let first = view.first, set.contains(first) { view = view.dropFirst() }
        while let last = view.last, set.contains(last) { view = view.dropLast() }
        return String(view)
    }
}
