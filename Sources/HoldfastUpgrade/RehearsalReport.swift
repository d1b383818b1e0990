import HoldfastJSON

/// What a rehearsal process (`holdfast validate-plugin`) writes on its standard output, one line at a time and
/// unbuffered, so that whatever it wrote before dying is read in full:
///
/// ```text
/// step load
/// step migrate
/// step make_handler
/// ...
/// passed {"from":"1.0.0","to":"2.0.0","converted_bytes":41,"exported_bytes":41,"steps_us":{"load":812,...}}
/// ```
///
/// or, when the plugin failed a check or threw, `refused {"check":"migration_failed","reason":"..."}` (exit
/// status 1). A trap leaves the last `step` line as the step it happened in.
public struct RehearsalReport: Sendable, Equatable {
    /// The verdict line, if the process got that far.
    public enum Verdict: Sendable, Equatable {
        case passed(RehearsalSummary)
        case refused(check: String, reason: String)
    }

    /// The last step the process started.
    public var lastStep: SwapStep?
    /// Its verdict, when it wrote one.
    public var verdict: Verdict?
    /// Lines that are not part of the format (a complete report has none).
    public var unreadable: [String] = []

    /// The line announcing `step`.
    public static func line(starting step: SwapStep) -> String { "step \(step.rawValue)\n" }

    /// The verdict line of a rehearsal that passed.
    public static func line(passed summary: RehearsalSummary) -> String {
        let steps = summary.stepMicroseconds.map { JSONMember($0.step.rawValue, .integer(Int64($0.microseconds))) }
        let body = JSONValue.object([
            JSONMember("from", .string(summary.fromVersion)), JSONMember("to", .string(summary.toVersion)),
            JSONMember("converted_bytes", .integer(Int64(summary.convertedBytes))),
            JSONMember("exported_bytes", .integer(Int64(summary.exportedBytes))),
            JSONMember("steps_us", .object(steps)),
        ])
        return "passed " + String(decoding: JSON.encode(body), as: UTF8.self) + "\n"
    }

    /// The verdict line of a rehearsal that the plugin failed with a typed error.
    public static func line(refused check: String, reason: String) -> String {
        let body = JSONValue.object([JSONMember("check", .string(check)), JSONMember("reason", .string(reason))])
        return "refused " + String(decoding: JSON.encode(body), as: UTF8.self) + "\n"
    }

    public init(lastStep: SwapStep? = nil, verdict: Verdict? = nil, unreadable: [String] = []) {
        self.lastStep = lastStep
        self.verdict = verdict
        self.unreadable = unreadable
    }

    /// Reads a report; a last line without its newline (the process died while writing it) counts as unreadable.
    public init(parsing output: [UInt8]) {
        var lines = output.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if let last = lines.last, last.isEmpty {
            lines.removeLast()
        } else if let last = lines.popLast() {
            unreadable.append(String(decoding: last, as: UTF8.self))
        }
        for raw in lines {
            let line = String(decoding: raw, as: UTF8.self)
            if !read(line) { unreadable.append(line) }
        }
    }

    private mutating func read(_ line: String) -> Bool {
        guard let space = line.firstIndex(of: " ") else { return false }
        let word = line[..<space]
        let rest = String(line[line.index(after: space)...])
        switch word {
        case "step":
            guard let step = SwapStep(rawValue: rest) else { return false }
            lastStep = step
            return true
        case "passed":
            guard verdict == nil, let body = try? JSON.parse(rest), let summary = Self.summary(body) else {
                return false
            }
            verdict = .passed(summary)
            return true
        case "refused":
            guard verdict == nil, let body = try? JSON.parse(rest), let check = body["check"]?.stringValue,
                !check.isEmpty, let reason = body["reason"]?.stringValue
            else { return false }
            verdict = .refused(check: check, reason: reason)
            return true
        default:
            return false
        }
    }

    private static func summary(_ body: JSONValue) -> RehearsalSummary? {
        guard let from = body["from"]?.stringValue, let to = body["to"]?.stringValue,
            let converted = body["converted_bytes"]?.integerValue, let exported = body["exported_bytes"]?.integerValue,
            let steps = body["steps_us"]?.objectMembers
        else { return nil }
        var timings: [RehearsalSummary.StepTiming] = []
        for member in steps {
            guard let step = SwapStep(rawValue: member.key), let microseconds = member.value.integerValue else {
                return nil
            }
            timings.append(.init(step: step, microseconds: Int(microseconds)))
        }
        return RehearsalSummary(
            fromVersion: from, toVersion: to, convertedBytes: Int(converted), exportedBytes: Int(exported),
            stepMicroseconds: timings)
    }
}
