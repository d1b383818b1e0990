import Foundation
import Histogram

/// Latency percentiles in milliseconds of one class of messages, with how many samples they rest on.
struct LatencyMilliseconds: Encodable {
    var samples: UInt64
    var p50: Double
    var p99: Double
    var max: Double

    init(_ buckets: [RunResult.Bucket]) {
        let histogram = ChannelResult.histogram(buckets)
        let micros = LatencySummary(histogram)
        samples = histogram.totalCount
        (p50, p99, max) = (micros.p50 / 1000, micros.p99 / 1000, micros.max / 1000)
    }

    var line: String {
        String(format: "p50 %.2f  p99 %.2f  max %.2f ms (%llu samples)", p50, p99, max, samples)
    }
}

/// One upgrade's line of the `upgrade` report (the JSON names are the ones documented in the command's help).
struct UpgradeEntry: Encodable {
    /// From 1.
    var index: Int
    /// What was asked for and what came back.
    var attempt: UpgradeAttempt
    /// Failures charged to this upgrade's epoch.
    var counts: EpochCounts
    /// Delivery latency (send to receipt at each other member) of the messages in flight across the upgrade,
    /// and in steady state; the same for acks.
    var during: LatencyMilliseconds
    var steady: LatencyMilliseconds
    var acksDuring: LatencyMilliseconds
    var acksSteady: LatencyMilliseconds

    init(index: Int, attempt: UpgradeAttempt, tally: PhaseTally) {
        self.index = index
        self.attempt = attempt
        counts = tally.epochs[index]
        during = LatencyMilliseconds(tally.deliveriesDuring[index - 1])
        steady = LatencyMilliseconds(tally.deliveriesSteady)
        acksDuring = LatencyMilliseconds(tally.acksDuring[index - 1])
        acksSteady = LatencyMilliseconds(tally.acksSteady)
    }

    /// Request sent to answer received, as the bench saw it.
    var pauseMilliseconds: Double { Double(attempt.answeredAt - attempt.requestedAt) / 1e6 }

    /// Whether this upgrade broke a guarantee.
    var failed: Bool { attempt.status != 200 || counts.failed }

    enum CodingKeys: String, CodingKey {
        case index, kind, target, status, error, check, closed, lost, duplicated, reordered
        case presenceDiffs = "presence_diffs", pauseMs = "pause_ms", serverPauseMs = "server_pause_ms"
        case deliveriesDuring = "deliveries_during", p50MsDuring = "p50_ms_during", p99MsDuring = "p99_ms_during"
        case maxMsDuring = "max_ms_during", p50MsSteady = "p50_ms_steady", p99MsSteady = "p99_ms_steady"
        case maxMsSteady = "max_ms_steady", acksDuring = "acks_during", acksSteady = "acks_steady"
        case pidAfter = "pid_after", handlersAfter = "handlers_after", rssKiBAfter = "rss_kib_after"
    }

    /// The human summary of this upgrade.
    var lines: [String] {
        let server = attempt.serverPauseMilliseconds.map { String(format: " (server %.2f ms)", $0) } ?? ""
        let answer = "answer \(attempt.status)" + (attempt.check.map { " \($0)" } ?? "")
            + (attempt.status == 200 ? "" : ": \(attempt.error ?? "")")
        return [
            "  #\(index) \(attempt.step.kind) \(attempt.step.path)",
            "     \(answer)" + String(format: ", pause %.2f ms", pauseMilliseconds) + server
                + "; after: pid \(attempt.pidAfter.map(String.init) ?? "?"), handlers \(attempt.handlersAfter ?? "?")"
                + (attempt.rssKiBAfter.map { ", RSS \($0) KiB" } ?? ""),
            "     in flight: deliveries " + during.line + "; acks " + acksDuring.line,
            "     " + counts.line,
        ]
    }

    /// Flat fields, so that scripts read `p99_ms_during` without digging; the acks as nested latency objects.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(attempt.step.kind, forKey: .kind)
        try container.encode(attempt.step.path, forKey: .target)
        try container.encode(attempt.status, forKey: .status)
        try container.encodeIfPresent(attempt.error, forKey: .error)
        try container.encodeIfPresent(attempt.check, forKey: .check)
        let integers: [(CodingKeys, UInt64)] = [
            (.closed, counts.closed), (.lost, counts.lost), (.duplicated, counts.duplicated), (.reordered, counts.reordered),
            (.presenceDiffs, counts.presenceDiffs), (.deliveriesDuring, during.samples),
        ]
        for (key, value) in integers { try container.encode(value, forKey: key) }
        let milliseconds: [(CodingKeys, Double)] = [
            (.pauseMs, pauseMilliseconds), (.p50MsDuring, during.p50), (.p99MsDuring, during.p99), (.maxMsDuring, during.max),
            (.p50MsSteady, steady.p50), (.p99MsSteady, steady.p99), (.maxMsSteady, steady.max),
        ]
        for (key, value) in milliseconds { try container.encode(value, forKey: key) }
        try container.encodeIfPresent(attempt.serverPauseMilliseconds, forKey: .serverPauseMs)
        try container.encode(acksDuring, forKey: .acksDuring)
        try container.encode(acksSteady, forKey: .acksSteady)
        try container.encodeIfPresent(attempt.pidAfter, forKey: .pidAfter)
        try container.encodeIfPresent(attempt.handlersAfter, forKey: .handlersAfter)
        try container.encodeIfPresent(attempt.rssKiBAfter, forKey: .rssKiBAfter)
    }
}

/// The `upgrade` scenario's report: the whole run as a chat report, then each upgrade's figures.
struct UpgradeReport: Encodable {
    var scenario = "upgrade"
    var adminURL: String
    var intervalSeconds: Double
    var marginMilliseconds: Double
    /// Server pid and handler version before the first upgrade.
    var pidBefore: Int?
    var handlersBefore: String?
    var chat: ChatReport
    /// Failures before the first upgrade's epoch (they count against the run too).
    var beforeUpgrades: EpochCounts
    var steady: LatencyMilliseconds
    var acksSteady: LatencyMilliseconds
    var upgrade: [UpgradeEntry]
    /// Why the run failed, if it did.
    var failures: [String]

    enum CodingKeys: String, CodingKey {
        case scenario, chat, steady, upgrade, failures
        case adminURL = "admin_url", intervalSeconds = "interval_seconds", marginMilliseconds = "margin_ms"
        case pidBefore = "pid_before", handlersBefore = "handlers_before", beforeUpgrades = "before_upgrades"
        case acksSteady = "acks_steady"
    }

    init(
        _ command: UpgradeCommand, before: (pid: Int?, handlers: String?), attempts: [UpgradeAttempt],
        phases: UpgradePhases, result: ChannelResult, measuredSeconds: Double
    ) {
        adminURL = command.adminURL
        intervalSeconds = command.interval
        marginMilliseconds = command.margin * 1000
        pidBefore = before.pid
        handlersBefore = before.handlers
        chat = ChatReport(command.chat, duration: measuredSeconds, result, cpu: nil)
        var tally = result.upgradeTally ?? PhaseTally(upgrades: attempts.count)
        tally.attributeLosses(acknowledged: result.chatAcked, phases: phases)
        beforeUpgrades = tally.epochs[0]
        steady = LatencyMilliseconds(tally.deliveriesSteady)
        acksSteady = LatencyMilliseconds(tally.acksSteady)
        upgrade = attempts.enumerated().map { offset, attempt in
            UpgradeEntry(index: offset + 1, attempt: attempt, tally: tally)
        }
        failures = []
        if result.upgradeTally == nil { failures.append("no per-upgrade figures came back from the client loops") }
        if beforeUpgrades.failed { failures.append("guarantees broken before the first upgrade") }
        for entry in upgrade where entry.failed {
            failures.append(entry.attempt.status != 200
                ? "upgrade \(entry.index) answered \(entry.attempt.status): \(entry.attempt.error ?? "")"
                : "upgrade \(entry.index) broke a guarantee")
        }
        if let last = attempts.last, last.answeredAt + UInt64(command.margin * 1e9) > phases.measured.end {
            failures.append("the last upgrade was answered after the traffic stopped: raise --interval")
        }
        if result.hasFailures || chat.joined < chat.users || chat.failed { failures.append("the chat checks failed (see above)") }
    }

    var summary: String {
        var lines = [chat.summary]
        lines.append(String(format: "upgrades every %.1f s, in flight = sent within %.0f ms of a request or answer; ",
                            intervalSeconds, marginMilliseconds)
            + "server pid \(pidBefore.map(String.init) ?? "?") with handlers \(handlersBefore ?? "?") before")
        lines.append("  steady state: deliveries " + steady.line + "; acks " + acksSteady.line)
        lines.append("  before the first upgrade: " + beforeUpgrades.line)
        for entry in upgrade { lines += entry.lines }
        lines.append(failures.isEmpty ? "upgrade checks: all 0, every upgrade answered 200" : "FAILED: " + failures.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }
}

extension EpochCounts {
    /// The counts on one line.
    var line: String {
        "closed \(closed), lost \(lost), duplicated \(duplicated), reordered \(reordered), presence_diffs \(presenceDiffs)"
    }
}
