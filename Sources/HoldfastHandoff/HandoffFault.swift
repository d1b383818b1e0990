/// A fault injected into one step of a binary upgrade, for tests only: `HOLDFAST_TEST_FAULT=<side>:<step>:<action>`.
///
/// The hook is compiled into every build and does nothing unless the variable is set; a server refuses to start
/// with it set unless `HOLDFAST_TEST_FAULTS_ALLOWED=1` is set too, so a stray variable in production fails loudly
/// instead of breaking an upgrade later. Both processes of an upgrade see the same environment; the side says
/// which one fires.
public struct HandoffFault: Sendable, Equatable, CustomStringConvertible {
    /// The variable that names the fault.
    public static let variable = "HOLDFAST_TEST_FAULT"
    /// The variable that must be `1` for the fault to be accepted.
    public static let allowVariable = "HOLDFAST_TEST_FAULTS_ALLOWED"

    /// Which process fires.
    public enum Side: String, Sendable, CaseIterable {
        /// The process handing over.
        case old
        /// The process taking over.
        case new
    }

    /// What the process does at the step.
    public enum Action: String, Sendable, CaseIterable {
        /// Kills itself with SIGKILL.
        case exit9
        /// Stops at the step for good; the other side's deadline has to cut it.
        case hang
        /// Closes its end of the handoff channel.
        case closeChannel = "close-channel"
        /// Writes a message of junk on the handoff channel.
        case garbage
    }

    /// The steps of the process handing over, in protocol order: awaiting READY, each staging round (the first,
    /// then each catch-up round), each message of their record streams, pausing, exporting, sending the final
    /// stream and each of its messages, COMMIT, awaiting ACK.
    public static let oldSteps = [
        "ready", "staging", "staging-batch", "restaging", "drain", "export", "send", "send-batch", "commit", "ack",
    ]
    /// The steps of the process taking over, in protocol order: READY, receiving the staging stream, receiving
    /// each later stream (catch-up rounds and the final one, where the rebuild happens), DONE, awaiting COMMIT,
    /// ACK.
    public static let newSteps = ["ready", "staging", "rebuild", "done", "commit", "ack"]

    public let side: Side
    public let step: String
    /// Which time the step is reached (1: the first) when the fault fires: `restaging@2` is the second catch-up
    /// round, `send-batch@3` the third message of the final stream.
    public let occurrence: Int
    public let action: Action

    public init(side: Side, step: String, occurrence: Int = 1, action: Action) {
        self.side = side
        self.step = step
        self.occurrence = occurrence
        self.action = action
    }

    public var description: String {
        "\(side.rawValue):\(step)\(occurrence == 1 ? "" : "@\(occurrence)"):\(action.rawValue)"
    }

    /// Whether this fault fires on `side` when `step` is reached for the `occurrence`-th time.
    public func fires(on side: Side, at step: String, occurrence: Int = 1) -> Bool {
        self.side == side && self.step == step && self.occurrence == occurrence
    }

    /// The fault the environment names, nil when none.
    /// - Throws: ``HandoffFaultError`` when it is set without the allow variable, or does not parse.
    public static func from(environment: [String: String]) throws(HandoffFaultError) -> HandoffFault? {
        guard let text = environment[variable], !text.isEmpty else { return nil }
        guard environment[allowVariable] == "1" else { throw .notAllowed(text) }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let side = Side(rawValue: parts[0]), let action = Action(rawValue: parts[2]) else {
            throw .malformed(text)
        }
        let stepParts = parts[1].split(separator: "@", omittingEmptySubsequences: false).map(String.init)
        let occurrence: Int
        switch stepParts.count {
        case 1: occurrence = 1
        case 2:
            guard stepParts[1].allSatisfy({ ("0"..."9").contains($0) }), let number = Int(stepParts[1]), number >= 1
            else {
                throw .malformed(text)
            }
            occurrence = number
        default: throw .malformed(text)
        }
        let steps = side == .old ? oldSteps : newSteps
        guard steps.contains(stepParts[0]) else { throw .unknownStep(text, known: steps) }
        return HandoffFault(side: side, step: stepParts[0], occurrence: occurrence, action: action)
    }
}

/// Why `HOLDFAST_TEST_FAULT` was refused; the server does not start.
public enum HandoffFaultError: Error, Sendable, Equatable, CustomStringConvertible {
    case notAllowed(String)
    case malformed(String)
    case unknownStep(String, known: [String])

    public var description: String {
        switch self {
        case .notAllowed(let text):
            "\(HandoffFault.variable)=\(text) is a test-only fault hook; refusing to start without "
                + "\(HandoffFault.allowVariable)=1"
        case .malformed(let text):
            "\(HandoffFault.variable)=\(text) must be <old|new>:<step>[@<n>]:<exit9|hang|close-channel|garbage>"
        case .unknownStep(let text, let known):
            "\(HandoffFault.variable)=\(text) names no step of that side; steps: \(known.joined(separator: ", "))"
        }
    }
}

extension HandoverMachine.Action {
    /// The name a test fault uses for the step this action starts (see ``HandoffFault/oldSteps``); the
    /// per-message steps are reached inside the streams.
    public var faultStep: String? {
        switch self {
        case .awaitReply(.ready): "ready"
        case .stage: "staging"
        case .restage: "restaging"
        case .pauseIO: "drain"
        case .exportRooms: "export"
        case .sendFinal: "send"
        case .sendCommit: "commit"
        case .awaitAck: "ack"
        default: nil
        }
    }
}

extension TakeoverMachine.Action {
    /// The name a test fault uses for the step this action starts (see ``HandoffFault/newSteps``).
    public var faultStep: String? {
        switch self {
        case .sendReady: "ready"
        case .receiveStaging: "staging"
        case .receiveRound: "rebuild"
        case .sendDone: "done"
        case .awaitCommit: "commit"
        case .sendAck: "ack"
        default: nil
        }
    }
}
