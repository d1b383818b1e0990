import HoldfastHandoff
import Testing

/// Every failure keeps the HTTP status and wire code operators and end-to-end tests know.
@Suite struct HandoffFailureTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        let failure: HandoffFailure
        let status: Int
        let code: String
        var testDescription: String { code }
    }

    static let table: [Expected] = [
        Expected(failure: .notStarted, status: 503, code: "not_started"),
        Expected(failure: .upgradeInProgress, status: 409, code: "upgrade_in_progress"),
        Expected(failure: .noBinaryPath, status: 400, code: "bad_request"),
        Expected(failure: .binaryMissing(path: "x", reason: "r"), status: 422, code: "binary_missing"),
        Expected(failure: .binaryNotExecutable(binary: "x", reason: "r"), status: 422, code: "binary_not_executable"),
        Expected(failure: .channelFailed(reason: "r"), status: 500, code: "channel_failed"),
        Expected(failure: .spawnFailed(binary: "x", reason: "r"), status: 422, code: "spawn_failed"),
        Expected(failure: .noAnswer(.ready, afterMilliseconds: 1), status: 504, code: "ready_timeout"),
        Expected(failure: .noAnswer(.staged, afterMilliseconds: 1), status: 504, code: "staged_timeout"),
        Expected(failure: .noAnswer(.done, afterMilliseconds: 1), status: 504, code: "done_timeout"),
        Expected(failure: .childExited(.ready, status: "s"), status: 502, code: "ready_failed"),
        Expected(failure: .channelBroken(.staged, reason: "r"), status: 502, code: "staged_failed"),
        Expected(failure: .unexpectedAnswer(.done, .ack), status: 502, code: "done_failed"),
        Expected(failure: .rebuildFailed(reason: "r"), status: 502, code: "rebuild_failed"),
        Expected(failure: .sendFailed(reason: "r"), status: 502, code: "send_failed"),
        Expected(failure: .commitFailed(reason: "r"), status: 502, code: "commit_failed"),
        Expected(failure: .loopsUnresponsive(reason: "r"), status: 500, code: "loops_unresponsive"),
        Expected(failure: .notQuiescent(reason: "r"), status: 503, code: "not_quiescent"),
        Expected(failure: .roomsUnresponsive(reason: "r"), status: 503, code: "rooms_unresponsive"),
        Expected(failure: .roomsBusy(topics: ["a"]), status: 503, code: "rooms_busy"),
        Expected(failure: .outOfOrder(reason: "r"), status: 500, code: "out_of_order"),
        Expected(failure: .stalled(step: "sendFinal", afterMilliseconds: 3_000), status: 504, code: "step_stalled"),
    ]

    @Test(arguments: table)
    func eachFailureKeepsItsStatusAndWireCode(expected: Expected) {
        #expect(expected.failure.status == expected.status)
        #expect(expected.failure.code == expected.code)
        #expect(expected.failure.description == "\(expected.code): \(expected.failure.reason)")
    }

    @Test func theReasonsReadAsTheyAlwaysDid() {
        #expect(HandoffFailure.notStarted.reason == "the server is not serving yet")
        #expect(HandoffFailure.upgradeInProgress.reason
            == "another upgrade or rollback is running: retry when it has finished")
        #expect(HandoffFailure.noBinaryPath.reason == "no binary path given")
        #expect(HandoffFailure.binaryMissing(path: "/x", reason: "No such file or directory").reason
            == "cannot use /x: No such file or directory; give the absolute path of a holdfast binary")
        #expect(HandoffFailure.childExited(.done, status: "exited with status 1").reason
            == "the new binary exited with status 1 before answering DONE; see its log lines above")
        #expect(HandoffFailure.channelBroken(.staged, reason: "handoff channel closed").reason
            == "handoff channel failed while waiting for STAGED: handoff channel closed")
        #expect(HandoffFailure.unexpectedAnswer(.ready, .ack).reason == "the new binary answered ack instead of READY")
        #expect(HandoffFailure.rebuildFailed(reason: "bad").reason == "the new binary could not take over: bad")
        #expect(HandoffFailure.commitFailed(reason: "gone").reason
            == "could not tell the new binary to take over: gone")
        #expect(HandoffFailure.roomsBusy(topics: ["a", "b", "c", "d", "e", "f"]).reason
            == "rooms still had messages in flight: a, b, c, d, e")
    }
}
