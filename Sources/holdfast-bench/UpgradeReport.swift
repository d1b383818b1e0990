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
    /// Nodes the run upgrades (1 without a repeated `--admin-url`).
    var nodes: Int

    init(index: Int, attempt: UpgradeAttempt, tally: PhaseTally, nodes: Int) {
        self.index = index
        self.nodes = nodes
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
        case index, node, round, kind, target, status, error, check, closed, lost, duplicated, reordered
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
            "  #\(index) \(nodes > 1 ? "round \(attempt.round) node \(attempt.node): " : "")"
                + "\(attempt.step.kind) \(attempt.step.path)",
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
        try container.encode(attempt.node, forKey: .node)
        try container.encode(attempt.round, forKey: .round)
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
    /// Every node's admin listener, in upgrade order.
    var adminURLs: [String]
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
    /// Per round of a rolling upgrade: each node's pause and the totals.
    var rounds: [UpgradeRound]
    /// Every node upgrade's pause (request sent to answer received) added up over the run.
    var pauseMillisecondsTotal: Double
    /// Why the run failed, if it did.
    var failures: [String]

    enum CodingKeys: String, CodingKey {
        case scenario, chat, steady, upgrade, rounds, failures
        case adminURL = "admin_url", adminURLs = "admin_urls", pauseMillisecondsTotal = "pause_ms_total", intervalSeconds = "interval_seconds", marginMilliseconds = "margin_ms"
        case pidBefore = "pid_before", handlersBefore = "handlers_before", beforeUpgrades = "before_upgrades"
        case acksSteady = "acks_steady"
    }

    init(
        _ command: UpgradeCommand, before: (pid: Int?, handlers: String?), attempts: [UpgradeAttempt],
        phases: UpgradePhases, result: ChannelResult, measuredSeconds: Double
    ) {
        adminURL = command.adminURL
        adminURLs = command.nodeAdminURLs
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
        let entries = attempts.enumerated().map { offset, attempt in
            UpgradeEntry(index: offset + 1, attempt: attempt, tally: tally, nodes: command.nodeAdminURLs.count)
        }
        upgrade = entries
        rounds = Set(entries.map(\.attempt.round)).sorted().map { round in
            UpgradeRound(round: round, entries: entries.filter { $0.attempt.round == round })
        }
        pauseMillisecondsTotal = entries.reduce(0) { $0 + $1.pauseMilliseconds }
        failures = []
        if result.upgradeTally == nil { failures.append("no per-upgrade figures came back from the client loops") }
        if beforeUpgrades.failed { failures.append("guarantees broken before the first upgrade") }
        for entry in upgrade where entry.failed {
            failures.append(entry.attempt.status != 200
                ? "upgrade \(entry.index) answered \(entry.attempt.status): \(entry.attempt.error ?? "")"
                : "upgrade \(entry.index) broke a guarantee")
        }
        if upgrade.count < command.upgradeCount * adminURLs.count {
            failures.append("the rolling upgrade stopped after \(upgrade.count) of \(command.upgradeCount * adminURLs.count) node upgrades")
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
        if adminURLs.count > 1 {
            lines += rounds.map(\.line)
            lines.append(String(format: "  rolling: %d node upgrades, pauses add up to %.2f ms", upgrade.count, pauseMillisecondsTotal))
        }
        lines.append(failures.isEmpty ? "upgrade checks: all 0, every upgrade answered 200" : "FAILED: " + failures.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }
}

/// One round of a rolling upgrade: every node upgraded to the same target, one after the other.
struct UpgradeRound: Encodable {
    var round: Int
    /// Each node's pause (request sent to answer received), in upgrade order.
    var pauseMilliseconds: [Double]
    /// Their sum, and the time from the first node's request to the last node's answer.
    var pauseMillisecondsTotal: Double
    var spanMilliseconds: Double
    /// The failures charged to this round's node upgrades, added up.
    var counts: EpochCounts

    enum CodingKeys: String, CodingKey {
        case round, closed, lost, duplicated, reordered
        case pauseMilliseconds = "pause_ms", pauseMillisecondsTotal = "pause_ms_total", spanMilliseconds = "span_ms"
        case presenceDiffs = "presence_diffs"
    }

    init(round: Int, entries: [UpgradeEntry]) {
        self.round = round
        pauseMilliseconds = entries.map(\.pauseMilliseconds)
        pauseMillisecondsTotal = pauseMilliseconds.reduce(0, +)
        let first = entries.map(\.attempt.requestedAt).min() ?? 0
        let last = entries.map(\.attempt.answeredAt).max() ?? first
        spanMilliseconds = Double(last - first) / 1e6
        counts = EpochCounts()
        for entry in entries { counts.add(entry.counts) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(round, forKey: .round)
        try container.encode(pauseMilliseconds, forKey: .pauseMilliseconds)
        try container.encode(pauseMillisecondsTotal, forKey: .pauseMillisecondsTotal)
        try container.encode(spanMilliseconds, forKey: .spanMilliseconds)
        let integers: [(CodingKeys, UInt64)] = [
            (.closed, counts.closed), (.lost, counts.lost), (.duplicated, counts.duplicated),
            (.reordered, counts.reordered), (.presenceDiffs, counts.presenceDiffs),
        ]
        for (key, value) in integers { try container.encode(value, forKey: key) }
    }

    /// The round on one line.
    var line: String {
        let pauses = pauseMilliseconds.enumerated().map { String(format: "node %d %.2f", $0.offset + 1, $0.element) }
        return "  round \(round): pauses ms " + pauses.joined(separator: ", ")
            + String(format: "; total %.2f ms, first request to last answer %.2f ms; ", pauseMillisecondsTotal, spanMilliseconds)
            + counts.line
    }
}

extension EpochCounts {
    /// The counts on one line.
    var line: String {
        "closed \(closed), lost \(lost), duplicated \(duplicated), reordered \(reordered), presence_diffs \(presenceDiffs)"
    }
}
