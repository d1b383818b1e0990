import HoldfastUpgrade
import Testing

@Suite("What a rehearsal process reports, and what the server makes of it")
struct RehearsalReportTests {
    private let summary = RehearsalSummary(
        fromVersion: "1.0.0", toVersion: "2.0.0", convertedBytes: 41, exportedBytes: 40,
        stepMicroseconds: [.init(step: .load, microseconds: 812), .init(step: .migrate, microseconds: 55)])

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func readsTheStepsAndAPassedVerdictBackAsWritten() {
        let text =
            RehearsalReport.line(starting: .load) + RehearsalReport.line(starting: .migrate)
            + RehearsalReport.line(passed: summary)
        let report = RehearsalReport(parsing: bytes(text))
        #expect(report == RehearsalReport(lastStep: .migrate, verdict: .passed(summary)))
    }

    @Test func readsARefusalWithItsCheckAndReason() {
        let text =
            RehearsalReport.line(starting: .load)
            + RehearsalReport.line(refused: "abi_mismatch", reason: "built for \"2\"\nnot 1")
        let report = RehearsalReport(parsing: bytes(text))
        #expect(report.verdict == .refused(check: "abi_mismatch", reason: "built for \"2\"\nnot 1"))
        #expect(report.lastStep == .load)
        #expect(report.unreadable.isEmpty)
    }

    @Test func aLineCutOffByADeathIsUnreadableAndTheLastCompleteStepStands() {
        let text = RehearsalReport.line(starting: .makeHandler) + "step export_st"
        let report = RehearsalReport(parsing: bytes(text))
        #expect(report.lastStep == .makeHandler)
        #expect(report.verdict == nil)
        #expect(report.unreadable == ["step export_st"])
    }

    @Test func junkAndASecondVerdictAreUnreadable() {
        let text =
            "hello from a plugin\nstep nowhere\n" + RehearsalReport.line(refused: "x", reason: "y")
            + RehearsalReport.line(passed: summary)
        let report = RehearsalReport(parsing: bytes(text))
        #expect(report.verdict == .refused(check: "x", reason: "y"))
        #expect(report.unreadable.count == 3)
    }

    private func verdict(
        _ text: String, _ termination: RehearsalTermination, timedOut: Bool = false, stderr: String = ""
    ) -> Result<RehearsalSummary, PluginValidationError> {
        PluginValidator.verdict(
            report: RehearsalReport(parsing: bytes(text)), termination: termination, timedOut: timedOut,
            timeoutMilliseconds: 2_000, errorTail: bytes(stderr))
    }

    @Test func aSignalIsATrapInTheLastStepWhateverWasWritten() {
        let text = RehearsalReport.line(starting: .load) + RehearsalReport.line(starting: .exportState)
        let stderr = "warning: something\nPlugin/File.swift:48: Fatal error: export traps\nmore noise\n"
        let result = verdict(text, .signaled(4), stderr: stderr)
        #expect(
            result
                == .failure(
                    .trapped(step: .exportState, signal: 4, detail: "Plugin/File.swift:48: Fatal error: export traps")))
        guard case .failure(let error) = result else { return }
        #expect(error.check == "plugin_trapped")
        #expect(error.httpStatus == 422)
        #expect(error.description.contains("SIGILL in step export_state"))
    }

    @Test func aTimeoutNamesTheStepAndIsA504() {
        let result = verdict(RehearsalReport.line(starting: .migrate), .signaled(9), timedOut: true)
        #expect(result == .failure(.timedOut(step: .migrate, milliseconds: 2_000)))
        guard case .failure(let error) = result else { return }
        #expect((error.check, error.httpStatus) == ("plugin_timeout", 504))
    }

    @Test func aVerdictCountsOnlyWithTheExitStatusThatGoesWithIt() {
        #expect(verdict(RehearsalReport.line(passed: summary), .exited(0)) == .success(summary))
        let refused = RehearsalReport.line(refused: "migration_failed", reason: "no")
        #expect(verdict(refused, .exited(1)) == .failure(.refused(check: "migration_failed", reason: "no")))
        guard case .failure(.unreadableReport) = verdict(refused, .exited(0)) else {
            Issue.record("a refusal with exit status 0 must not be trusted")
            return
        }
        guard case .failure(.unreadableReport) = verdict(RehearsalReport.line(passed: summary), .exited(3)) else {
            Issue.record("a pass with exit status 3 must not be trusted")
            return
        }
    }

    @Test func anExitWithoutAVerdictIsThePluginsExit() {
        let result = verdict(RehearsalReport.line(starting: .makeHandler), .exited(0), stderr: "bye\n")
        #expect(result == .failure(.exited(step: .makeHandler, status: 0, detail: "bye")))
        #expect(PluginValidationError.exited(step: nil, status: 0, detail: "").check == "plugin_exited")
    }

    @Test func everyFailureMapsToAStatusAndACheck() {
        let cases: [(PluginUpgradeError, Int, String)] = [
            (.validation(.refused(check: "abi_mismatch", reason: "r")), 422, "abi_mismatch"),
            (.validation(.trapped(step: .migrate, signal: 5, detail: "")), 422, "plugin_trapped"),
            (.validation(.exited(step: nil, status: 1, detail: "")), 422, "plugin_exited"),
            (.validation(.timedOut(step: nil, milliseconds: 1)), 504, "plugin_timeout"),
            (.validation(.unavailable(reason: "r")), 500, "validation_unavailable"),
            (.validation(.unreadableReport(detail: "d")), 500, "validation_failed"),
            (.swapTimedOut(milliseconds: 5_000), 504, "swap_timeout"),
            (.abandonedSwapStillRunning, 409, "upgrade_in_progress"),
            (.upgradeInProgress, 409, "upgrade_in_progress"),
            (.notStarted, 503, "not_started"),
            (.noPreviousVersion, 422, "no_previous_version"),
            (.load(.fileNotFound(path: "/x")), 422, "file_not_found"),
            (.migration(.exportUnreadable(version: "2", reason: "r")), 422, "export_unreadable"),
        ]
        for (error, status, check) in cases {
            #expect((error.httpStatus, error.check) == (status, check), "\(error)")
            #expect(!error.description.isEmpty)
        }
    }

    @Test func signalsAreNamed() {
        #expect(PluginValidationError.signalName(4) == "SIGILL")
        #expect(PluginValidationError.signalName(5) == "SIGTRAP")
        #expect(PluginValidationError.signalName(11) == "SIGSEGV")
        #expect(PluginValidationError.signalName(40) == "signal 40")
    }
}
