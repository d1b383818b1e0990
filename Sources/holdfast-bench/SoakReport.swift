import Foundation

/// The `soak` scenario's report: the samples, the swaps and upgrades, the whole run's checks and the verdict.
struct SoakReport: Codable {
    var scenario = "soak"
    var url: String
    var users: Int
    var joined: Int
    var tlsUsers: Int
    var rooms: Int
    var durationSeconds: Double
    var messageIntervalSeconds: Double
    var churnPercentPerMinute: Double
    var swapEverySeconds: Double
    var upgradeEverySeconds: Double
    var sampleEverySeconds: Double
    var samples: [SoakSample]
    var events: [SoakEvent]
    /// Server RSS at the first sample at or after `baselineSeconds`, at the last sample, and the growth between.
    var baselineSeconds: Double
    var rssBaselineKiB: Int?
    var rssEndKiB: Int?
    var rssGrowthPercent: Double?
    var maxRSSGrowthPercent: Double
    var messagesSent: UInt64
    var messagesAcked: UInt64
    var delivered: UInt64
    var lost: UInt64
    var duplicated: UInt64
    var reordered: UInt64
    /// Messages in flight when a connection dropped (none without drops: churn waits for its replies).
    var unacknowledged: Int
    /// Connections closed by the server, churned users, rejoins, and the time from leaving to rejoined.
    var drops: Int
    var churns: Int
    var reconnects: Int
    var reconnectMilliseconds: MillisecondSummary?
    var notRejoined: Int
    /// Witness checks of churned users' leave and join diffs that passed and failed.
    var churnSeen: Int
    var churnMissed: Int
    /// `presence_diff` frames received while an upgrade was under way.
    var upgradeDiffs: UInt64
    var typingSent: UInt64
    var typingReceived: UInt64
    var errors: ChannelErrors
    var failures: [String]
    var passed: Bool

    enum CodingKeys: String, CodingKey {
        case scenario, url, users, joined, rooms, samples, events, lost, duplicated, reordered, unacknowledged, drops
        case churns, reconnects, delivered, errors, failures, passed
        case tlsUsers = "tls_users"
        case durationSeconds = "duration_seconds"
        case messageIntervalSeconds = "message_interval_seconds"
        case churnPercentPerMinute = "churn_percent_per_minute"
        case swapEverySeconds = "swap_every_seconds"
        case upgradeEverySeconds = "upgrade_every_seconds"
        case sampleEverySeconds = "sample_every_seconds"
        case baselineSeconds = "baseline_seconds"
        case rssBaselineKiB = "rss_baseline_kib"
        case rssEndKiB = "rss_end_kib"
        case rssGrowthPercent = "rss_growth_percent"
        case maxRSSGrowthPercent = "max_rss_growth_percent"
        case messagesSent = "messages_sent"
        case messagesAcked = "messages_acked"
        case reconnectMilliseconds = "reconnect_ms"
        case notRejoined = "not_rejoined"
        case churnSeen = "churn_seen"
        case churnMissed = "churn_missed"
        case upgradeDiffs = "upgrade_diffs"
        case typingSent = "typing_sent"
        case typingReceived = "typing_received"
    }

    init(_ command: SoakCommand, joined: Int, run: SoakRun, result: ChannelResult) {
        url = command.url
        users = command.users
        self.joined = joined
        tlsUsers = result.tlsConnections
        rooms = command.rooms
        durationSeconds = command.duration.seconds
        messageIntervalSeconds = command.messageInterval.seconds
        churnPercentPerMinute = command.churnPercentPerMinute
        swapEverySeconds = command.swapEvery.seconds
        upgradeEverySeconds = command.upgradeEvery.seconds
        sampleEverySeconds = command.sampleEvery.seconds
        samples = run.samples
        events = run.events
        baselineSeconds = command.baselineSeconds
        let baseline = run.samples.first { $0.seconds >= command.baselineSeconds - 0.5 }
        rssBaselineKiB = baseline?.rssKiB
        rssEndKiB = run.samples.last?.rssKiB
        if let from = rssBaselineKiB, let to = rssEndKiB, from > 0 {
            rssGrowthPercent = (Double(to) - Double(from)) / Double(from) * 100
        }
        maxRSSGrowthPercent = command.maxRSSGrowthPercent
        messagesSent = result.messagesSent
        messagesAcked = result.messagesAcked
        delivered = result.deliveriesTotal
        lost = result.lost
        duplicated = result.duplicated
        reordered = result.reordered
        unacknowledged = result.unacknowledged
        drops = result.drops
        churns = result.churns
        reconnects = result.reconnects
        if result.reconnects > 0 {
            reconnectMilliseconds = MillisecondSummary(ChannelResult.histogram(result.reconnectLatency))
        }
        notRejoined = result.notRejoined
        churnSeen = result.churnSeen
        churnMissed = result.churnMissed
        upgradeDiffs = result.upgradeDiffs
        typingSent = result.typingSent
        typingReceived = result.typingReceived
        errors = ChannelErrors(result)
        failures = []
        passed = false
        failures = verdict(
            result,
            expectedChurns: Double(command.users) * command.churnPercentPerMinute / 100
                * command.duration.seconds / 60)
        passed = failures.isEmpty
    }

    /// Every way the run fell short, in words; empty when it passed.
    private func verdict(_ result: ChannelResult, expectedChurns: Double) -> [String] {
        var failures: [String] = []
        if joined < users { failures.append("only \(joined) of \(users) users joined") }
        if let rssGrowthPercent {
            if rssGrowthPercent >= maxRSSGrowthPercent {
                failures.append(
                    String(
                        format: "server RSS grew %.2f %% after the baseline (limit %.1f %%)", rssGrowthPercent,
                        maxRSSGrowthPercent))
            }
        } else {
            failures.append("no server RSS reading at the baseline and at the end")
        }
        if lost + duplicated + reordered > 0 {
            failures.append("messages lost \(lost), duplicated \(duplicated), reordered \(reordered)")
        }
        if drops > 0 { failures.append("\(drops) connections closed by the server") }
        if result.protocolViolations + result.errorReplies + result.badFrames + result.connectFailures
            + result.joinFailures > 0
        {
            failures.append("errors (see the error lines)")
        }
        if notRejoined + result.rejoinRefusals + result.recoveryIncomplete > 0 {
            failures.append(
                "rejoins: \(notRejoined) not back, \(result.rejoinRefusals) refused, \(result.recoveryIncomplete) not recovered"
            )
        }
        for event in events where event.status != 200 {
            failures.append("\(event.kind) at \(Int(event.seconds)) s answered \(event.status): \(event.error ?? "")")
        }
        if upgradeDiffs > 0 { failures.append("\(upgradeDiffs) presence_diff frames during upgrades (flaps)") }
        if churnMissed > 0 { failures.append("\(churnMissed) witnesses missed a churned user's leave or join") }
        if expectedChurns >= 5, churns == 0 { failures.append("no user churned") }
        if expectedChurns >= 5, churnSeen == 0 { failures.append("no churn was witnessed") }
        return failures
    }

    var summary: String {
        var lines = [
            "soak \(url): \(joined)/\(users) users (\(tlsUsers) over TLS) in \(rooms) rooms for "
                + DurationArgument.text(durationSeconds) + ", a message every "
                + DurationArgument.text(messageIntervalSeconds) + " per user, churn \(churnPercentPerMinute) %/min",
            "  swaps and upgrades: "
                + (events.isEmpty
                    ? "none" : events.map { String(format: "%.0fs ", $0.seconds) + $0.label }.joined(separator: ", ")),
            "  server RSS: " + (rssBaselineKiB.map { "\($0) KiB" } ?? "?") + " at "
                + DurationArgument.text(baselineSeconds)
                + ", " + (rssEndKiB.map { "\($0) KiB" } ?? "?") + " at the end: growth "
                + (rssGrowthPercent.map { String(format: "%.2f %%", $0) } ?? "?")
                + String(format: " (limit %.1f %%)", maxRSSGrowthPercent),
            "  messages: \(messagesSent) sent, \(messagesAcked) acknowledged, \(delivered) delivered; "
                + "typing \(typingSent) sent, \(typingReceived) received",
            "  checks: lost \(lost), duplicated \(duplicated), reordered \(reordered), closed by the server \(drops), "
                + "presence_diffs during upgrades \(upgradeDiffs), not rejoined \(notRejoined)",
            "  churn: \(churns) users left and came back (\(reconnects) rejoins, reconnect ms "
                + (reconnectMilliseconds?.line ?? "-") + "); witnesses saw \(churnSeen), missed \(churnMissed)",
        ]
        lines.append(contentsOf: errors.lines)
        lines.append(passed ? "  PASS" : "  FAIL: " + failures.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }
}
