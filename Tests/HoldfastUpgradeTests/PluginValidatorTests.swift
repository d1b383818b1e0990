import Glibc
import HoldfastUpgrade
import Testing

/// The validator's process handling against stand-in children (`/bin/sh` scripts): real processes, pipes,
/// signals and deadlines, without the holdfast binary.
@Suite("Running a rehearsal process")
struct PluginValidatorTests {
    init() {
        signal(SIGPIPE, SIG_IGN)  // as the server does: a child that stops reading gives EPIPE
    }

    private let request = SwapRehearsal(
        kind: .upgrade, targetPath: "/p.so", currentPath: "/c.so", currentVersion: "1.0.0",
        state: [UInt8](repeating: 7, count: 300_000))  // more than a pipe holds: written as the child reads

    private func validator(_ script: String, timeoutMilliseconds: Int = 20_000) -> PluginValidator {
        PluginValidator(
            executable: "/bin/sh", argv0: "sh", arguments: ["-c", script], environment: ["PATH=/usr/bin:/bin"],
            timeoutMilliseconds: timeoutMilliseconds)
    }

    @Test func aChildKilledByASignalIsATrapInItsLastStep() {
        let script =
            "cat > /dev/null; printf 'step load\\nstep migrate\\n'; echo 'Fatal error: on purpose' >&2; kill -ILL $$"
        #expect(
            throws: PluginValidationError.trapped(step: .migrate, signal: SIGILL, detail: "Fatal error: on purpose")
        ) {
            try validator(script).validate(request)
        }
    }

    @Test func theChildReadsTheWholeRequestAndItsVerdictIsTaken() throws {
        // The script checks that it got every byte, then answers as `holdfast validate-plugin` would.
        let size = request.encoded().count
        let passed = RehearsalReport.line(
            passed: RehearsalSummary(
                fromVersion: "1.0.0", toVersion: "2.0.0", convertedBytes: 1, exportedBytes: 1,
                stepMicroseconds: [.init(step: .load, microseconds: 3)]))
        let script = "test \"$(wc -c)\" -eq \(size) || exit 7; printf '%s' '\(passed)'"
        let validation = try validator(script).validate(request)
        #expect(validation.summary.toVersion == "2.0.0")
        #expect(validation.elapsedMilliseconds > 0)
        let refusing =
            "cat > /dev/null; printf '%s' '\(RehearsalReport.line(refused: "abi_mismatch", reason: "old"))'; exit 1"
        #expect(throws: PluginValidationError.refused(check: "abi_mismatch", reason: "old")) {
            try validator(refusing).validate(request)
        }
    }

    @Test func aChildPastTheDeadlineIsKilledAndReaped() {
        let started = MonotonicMilliseconds.now()
        #expect(throws: PluginValidationError.timedOut(step: .makeHandler, milliseconds: 300)) {
            try validator("printf 'step make_handler\\n'; exec sleep 60", timeoutMilliseconds: 300).validate(request)
        }
        // Killed, not waited for: far below the child's 60 s (a generous bound for a loaded machine).
        #expect(MonotonicMilliseconds.now() - started < 30_000)
    }

    @Test func aChildThatClosesItsOutputsAndHangsIsStillCut() {
        #expect(throws: PluginValidationError.timedOut(step: nil, milliseconds: 300)) {
            try validator("exec >&- 2>&- <&-; sleep 60", timeoutMilliseconds: 300).validate(request)
        }
    }

    @Test func aChildThatCannotStartIsUnavailable() {
        let missing = PluginValidator(
            executable: "/nonexistent/holdfast", argv0: "holdfast", arguments: [], environment: [],
            timeoutMilliseconds: 1_000)
        let error = try? #require(throws: PluginValidationError.self) { try missing.validate(request) }
        #expect(error?.check == "validation_unavailable")
    }

    @Test func theChildRunsWithoutSwiftsBacktracer() {
        let validator = validator("true")
        #expect(validator.environment.filter { $0.hasPrefix("SWIFT_BACKTRACE=") } == ["SWIFT_BACKTRACE=enable=no"])
    }
}

/// CLOCK_MONOTONIC in milliseconds.
enum MonotonicMilliseconds {
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) * 1_000 + Double(time.tv_nsec) / 1_000_000
    }
}
