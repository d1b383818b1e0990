import ArgumentParser
import HoldfastCore

/// `holdfast-bench upgrade`: a `chat` run with upgrades of the running server in the middle, checking that no
/// one notices.
///
/// Users chat exactly as in `chat` (sequence-numbered messages, every delivery checked by a ``SequenceChecker``).
/// After `--warmup`, the window starts; every `--interval` seconds the bench sends `POST /admin/upgrade` with the
/// next target and waits for the answer, and traffic goes on for one more interval after the last request. When the
/// answers are in, every loop is told the upgrades' times (``UpgradePhases``) and sorts what it saw: failures by
/// epoch, latencies of messages in flight across each upgrade against the steady state.
struct UpgradeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Chat while the server's handlers or binary are upgraded; check nothing is lost, doubled, reordered or closed.",
        discussion: """
            Runs the chat scenario and, every --interval seconds, calls POST /admin/upgrade with \
            {"handlers": PATH} or {"binary": PATH}. Targets alternate: --handlers A --handlers B gives A, B, A, …; \
            with --binary X as well, handlers and binary take turns (A, X, B, X, …). TLS users (--tls-share) are \
            part of the mix when the server has a TLS listener.

            For each upgrade it reports: connections closed or reset, messages lost, duplicated or reordered, and \
            presence_diff frames (all must be 0); the pause (request sent to answer received, and the server's own \
            pause_ms); and p50/p99/max delivery latency of the messages in flight across the upgrade against the \
            steady state.

            Definitions. "In flight across upgrade k" (during): messages whose send time falls in \
            [request k sent - margin, answer k received + margin]. "Steady": messages sent inside the measured \
            window and outside every such span. Failures are charged to upgrade k when they happen (closes, \
            duplicates, reorders, presence_diff frames: on arrival; losses: by the lost message's send time, \
            interpolated between its neighbours) at or after request k sent - margin and before the next upgrade's \
            span starts; earlier ones are reported as before_upgrades. Latency is send time to receipt at each \
            other member of the room.

            JSON (--json): "upgrade" is a list of entries with kind, target, status (HTTP), closed, lost, \
            duplicated, reordered, presence_diffs, pause_ms, server_pause_ms, deliveries_during, p50_ms_during, \
            p99_ms_during, max_ms_during, p50_ms_steady, p99_ms_steady, max_ms_steady, acks_during, acks_steady, \
            pid_after, handlers_after, rss_kib_after; "chat" is the whole run's chat report.

            Rolling upgrade of a cluster: repeat --admin-url, once per node, in the order to upgrade them (with \
            --url repeated in the same order, so that users are spread over the nodes). Each round then upgrades \
            node 1 to the round's target, waits for its answer, then node 2, and so on: a rolling upgrade. Every \
            node's upgrade is one entry of the report (with "node" and "round"), its failures charged to it as \
            above; "rounds" gives, per round, each node's pause, their sum (pause_ms_total) and the time from the \
            first request to the last answer (span_ms). The counts are cluster-wide: a message sent on any node must \
            reach every member of its room on every node once, in the room's one order. A node that answers \
            anything but 200 stops the rolling there. --interval must leave room for a whole round.

            Exits non-zero when any count is above 0 (before or during any upgrade), an upgrade is answered with \
            anything but 200, or the chat checks fail. The server's pid and memory come from /admin/status before \
            and after each upgrade (a binary upgrade changes the pid); --server-pid is not used.
            """
    )

    @OptionGroup var chat: ChatOptions
    @Option(
        name: .customLong("admin-url"),
        help: """
            The server's admin listener (default http://127.0.0.1:4001). Repeat it, once per node in upgrade \
            order, for a rolling upgrade of a cluster.
            """)
    var adminURLs: [String] = []
    @Option(help: "Admin bearer token for every node (else --admin-token-file, else $HOLDFAST_ADMIN_TOKEN).")
    var adminToken: String?
    @Option(help: """
        File holding the admin token: the server's <state_dir>/admin_token, or the token as text. Give it once \
        for every node or once per --admin-url, in the same order.
        """)
    var adminTokenFile: [String] = []
    @Option(help: "Handler plugin (.so) to upgrade to; repeat to alternate between several.") var handlers: [String] = []
    @Option(help: "Server binary to upgrade to; repeat to alternate between several.") var binary: [String] = []
    @Option(help: "Upgrades to perform (default: one per target given).") var upgrades: Int?
    @Option(help: """
        Seconds between upgrade requests: upgrade k is requested k intervals after the window starts (or just         after the previous answer, if that came later); traffic goes on for one interval after the last.
        """)
    var interval = 3.0
    @Option(help: "Seconds either side of an upgrade within which a message counts as in flight across it.") var margin = 0.1
    @Option(help: "Seconds to wait for an upgrade's answer.") var answerTimeout = 120.0

    /// The first admin listener (the only one without a repeated `--admin-url`).
    var adminURL: String { adminURLs.first ?? "http://127.0.0.1:4001" }

    /// Every node's admin listener, in upgrade order.
    var nodeAdminURLs: [String] { adminURLs.isEmpty ? [adminURL] : adminURLs }

    /// How many upgrades the run performs.
    var upgradeCount: Int { upgrades ?? (handlers.isEmpty || binary.isEmpty ? handlers.count + binary.count : 2 * max(handlers.count, binary.count)) }

    func validate() throws {
        guard !handlers.isEmpty || !binary.isEmpty else { throw ValidationError("give --handlers PATH and/or --binary PATH") }
        guard upgradeCount > 0 else { throw ValidationError("--upgrades must be positive") }
        guard interval > 0, margin >= 0, answerTimeout > 0 else {
            throw ValidationError("--interval and --answer-timeout must be positive, --margin not negative")
        }
        guard 2 * margin < interval else { throw ValidationError("--margin must be less than half of --interval") }
        guard adminTokenFile.count <= 1 || adminTokenFile.count == nodeAdminURLs.count else {
            throw ValidationError("give --admin-token-file once, or once per --admin-url")
        }
    }

    func run() throws {
        let steps = UpgradeStep.schedule(handlers: handlers, binaries: binary, count: upgradeCount)
        let drivers = try nodeAdminURLs.enumerated().map { index, url throws(BenchError) in
            let file = adminTokenFile.isEmpty ? nil : adminTokenFile[min(index, adminTokenFile.count - 1)]
            let admin = AdminClient(
                target: try Target(url: url, schemes: ["http"]), token: try AdminClient.token(explicit: adminToken, file: file))
            return UpgradeDriver(admin: admin, answerTimeout: answerTimeout)
        }
        // Before any connection: a wrong address or token should cost nothing.
        let before = try drivers.map { driver throws(BenchError) in try driver.status() }
        guard let fleet = try chat.connect(timeline: true) else { return }
        let measuredSeconds = Double(steps.count + 1) * interval
        let window = chat.window(duration: measuredSeconds)
        try fleet.begin(window)

        let gap = UInt64(interval * 1e9)
        let spread = UInt64(margin * 1e9)
        var attempts: [UpgradeAttempt] = []
        rounds: for (index, step) in steps.enumerated() {
            // A late answer delays the next request, so that their in-flight spans never overlap.
            let scheduled = window.measureStart + UInt64(index + 1) * gap
            sleep(untilNanoseconds: max(scheduled, (attempts.last?.answeredAt ?? 0) + 2 * spread))
            // A rolling upgrade: node after node, each once the previous one has answered.
            for (node, driver) in drivers.enumerated() {
                if node > 0 { sleep(untilNanoseconds: (attempts.last?.answeredAt ?? 0) + 2 * spread) }
                var attempt = driver.perform(step)
                attempt.node = node + 1
                attempt.round = index + 1
                attempts.append(attempt)
                // An operator stops rolling at the first node that refuses: the others keep the old build.
                if attempt.status != 200 { break rounds }
            }
        }
        sleep(untilNanoseconds: window.measureEnd)

        let phases = UpgradePhases(
            during: attempts.map { Span(start: $0.requestedAt - spread, end: $0.answeredAt + spread) },
            measured: Span(start: window.measureStart, end: window.measureEnd))
        try fleet.attribute(to: phases)
        let result = try chat.drainAndFinish(fleet, after: window)

        let report = UpgradeReport(self, before: before[0], attempts: attempts, phases: phases, result: result, measuredSeconds: measuredSeconds)
        print(report.summary)
        if let json = chat.json { try writeJSON(report, to: json) }
        if !report.failures.isEmpty { throw ExitCode(1) }
    }
}
