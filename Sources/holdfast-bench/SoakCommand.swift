import ArgumentParser
import Foundation
import Glibc
import HoldfastCore

/// `holdfast-bench soak`: hours of realistic traffic with churn, handler swaps and binary upgrades, watching the
/// server's memory and file descriptors.
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract:
            "Users chat for a long time with churn, swaps and upgrades; sample RSS and fds, check nothing is lost.",
        discussion: """
            --users users (a --tls-percent share over TLS) join room:chat<i % rooms> and each sends a message every \
            --message-interval (a typing notice before --typing-percent of them), every delivery checked for \
            exactly-once, in-order delivery. Each minute --churn-percent-per-minute of the users close cleanly and \
            reconnect at once, rejoining with last_seen_id; other members of the room must see them leave and \
            join. Every --swap-every the handlers are swapped (to --handlers, then back with POST \
            /admin/rollback; with several --handlers, through them in turn), and every --upgrade-every (offset by \
            half a period) the binary is upgraded to --binary. Churn stops --quiet seconds before each, and any \
            presence_diff during one is a flap.

            Every --sample-every it reads the serving process (pid from GET /admin/status: it changes with every \
            binary upgrade): VmRSS from /proc/PID/status, open files from /proc/PID/fd, and the bench's own RSS. \
            RSS growth is measured from the first sample at --baseline-after (default: 5 minutes, or a quarter of \
            a shorter run) to the last one.

            Exits non-zero unless growth is under --max-rss-growth-percent and nothing was lost, duplicated or \
            reordered, no connection was closed by the server, every swap and upgrade answered 200, no \
            presence_diff arrived during an upgrade, every churn was seen by its witnesses and every user is \
            back in its room at the end. --svg draws RSS and fds over time with the swaps and upgrades.
            """
    )

    @Option(help: "Phoenix socket endpoint (vsn and token are added).") var url = "ws://127.0.0.1:4000/socket/websocket"
    @Option(name: .customLong("tls-url"), help: "The server's TLS endpoint (wss://HOST:PORT), for --tls-percent.")
    var tlsURL: String?
    @Option(help: "Percent of the users that connect over TLS (needs --tls-url).") var tlsPercent = 20.0
    @Option(help: "Server secret (HOLDFAST_SECRET_KEY) for signing connect tokens.") var secret: String
    @Option(name: .customLong("admin-url"), help: "The server's admin listener.") var adminURL = "http://127.0.0.1:4001"
    @Option(help: "Admin bearer token (else --admin-token-file, else $HOLDFAST_ADMIN_TOKEN).") var adminToken: String?
    @Option(help: "File holding the admin token: the server's <state_dir>/admin_token, or the token as text.")
    var adminTokenFile: String?
    @Option(help: "How long traffic runs: 120s, 10m, 1h.") var duration = DurationArgument(seconds: 3600)
    @Option(help: "Users (one socket each).") var users = 10_000
    @Option(help: "Rooms; user i joins room:chat<i % rooms>.") var rooms = 200
    @Option(help: "Time between two messages of a user.") var messageInterval = DurationArgument(seconds: 20)
    @Option(help: "Percent of messages a typing notice goes before.") var typingPercent = 50.0
    @Option(help: "Percent of the users that leave and reconnect each minute.") var churnPercentPerMinute = 1.0
    @Option(help: "Time between handler swaps (0: none).") var swapEvery = DurationArgument(seconds: 600)
    @Option(help: "Time between binary upgrades (0: none); the first comes after half of it.")
    var upgradeEvery = DurationArgument(seconds: 600)
    @Option(help: "Handler plugin to swap to; one: alternate with rollbacks; several: in turn.") var handlers:
        [String] = []
    @Option(help: "Server binary for the upgrades (the running one will do).") var binary: String?
    @Option(help: "Time between samples.") var sampleEvery = DurationArgument(seconds: 60)
    @Option(help: "Where RSS growth is measured from (default: 5m, or a quarter of a shorter run).")
    var baselineAfter: DurationArgument?
    @Option(help: "Fail when server RSS grows by this many percent or more after the baseline.")
    var maxRSSGrowthPercent = 5.0
    @Option(help: "Seconds without churn before each swap or upgrade.") var quiet = 3.0
    @Option(help: "Event loop threads.") var threads = 2
    @Option(help: "Handshakes plus joins in progress at once.") var concurrency = 256
    @Option(help: "Seconds allowed for opening and joining all connections.") var connectTimeout = 300.0
    @Option(help: "Seconds to wait for an upgrade's answer.") var answerTimeout = 120.0
    @Option(help: "Write the RSS and fd curve as SVG to this file.") var svg: String?
    @Option(help: "Write a JSON report to this file.") var json: String?

    func validate() throws {
        guard users > 0, rooms > 0, threads > 0, concurrency > 0 else {
            throw ValidationError("users, rooms, threads and concurrency must be positive")
        }
        guard duration.seconds > 0, sampleEvery.seconds > 0, messageInterval.seconds > 0 else {
            throw ValidationError("--duration, --sample-every and --message-interval must be positive")
        }
        guard (0...100).contains(tlsPercent), (0...100).contains(typingPercent),
            (0...100).contains(churnPercentPerMinute)
        else { throw ValidationError("percentages must be between 0 and 100") }
        if tlsPercent > 0, tlsURL?.hasPrefix("wss://") != true {
            throw ValidationError("--tls-percent needs --tls-url wss://HOST:PORT (or --tls-percent 0)")
        }
        if swapEvery.seconds > 0, handlers.isEmpty { throw ValidationError("--swap-every needs --handlers (or 0)") }
        if upgradeEvery.seconds > 0, binary == nil { throw ValidationError("--upgrade-every needs --binary (or 0)") }
        // One socket per user, and this process may hold only so many.
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, UInt64(users) + 64 > UInt64(limit.rlim_max) {
            throw ValidationError("\(users) users need more open files than this process may have (\(limit.rlim_max))")
        }
    }

    /// The baseline of the growth check: 5 minutes in, or a quarter of a shorter run.
    var baselineSeconds: Double { baselineAfter?.seconds ?? min(300, duration.seconds / 4) }

    func run() throws {
        let admin = AdminClient(
            target: try Target(url: adminURL, schemes: ["http"]),
            token: try AdminClient.token(explicit: adminToken, file: adminTokenFile))
        let driver = UpgradeDriver(admin: admin, answerTimeout: answerTimeout)
        guard driver.serverStatus() != nil else {
            throw BenchError("GET /admin/status on \(adminURL) did not answer 200")
        }
        raiseFileLimit()
        let runner = try ChannelRunner(
            plan: try plan(), users: (0..<users).map { (.chatter, "c\($0)") }, threads: threads)
        runner.connect(timeout: connectTimeout)
        let joined = runner.sample().joined
        say("soak: \(joined)/\(users) users joined \(rooms) rooms")

        let start = MonotonicClock.nowNanoseconds() + 200_000_000
        let end = start + UInt64(duration.seconds * 1e9)
        runner.begin(Window(warmupStart: start, measureStart: start, measureEnd: end))
        var run = SoakRun(runner: runner, driver: driver, start: start, handlers: handlers.map(UpgradeStep.absolute))
        run.binary = binary.map(UpgradeStep.absolute)
        say(SoakSample.header)
        let schedule = SoakSchedule(
            duration: duration.seconds, sampleEvery: sampleEvery.seconds, swapEvery: swapEvery.seconds,
            upgradeEvery: upgradeEvery.seconds, quiet: quiet)
        for (at, action) in schedule.actions {
            sleep(untilNanoseconds: start + UInt64(at * 1e9))
            run.perform(action)
        }

        // Every reply in and every user back, then a moment for the last deliveries.
        runner.settle(deadline: MonotonicClock.nowNanoseconds() + 60_000_000_000, expected: 0)
        sleep(untilNanoseconds: MonotonicClock.nowNanoseconds() + 2_000_000_000)
        let result = runner.finish(closeTimeout: 5)
        let report = SoakReport(self, joined: joined, run: run, result: result)
        print(report.summary)
        if let json { try writeJSON(report, to: json) }
        if let svg { try SoakChart(report).write(to: svg) }
        if !report.passed { throw ExitCode(1) }
    }

    private func plan() throws -> ChannelPlan {
        let target = try Target(url: url)
        var plan = ChannelPlan(
            scenario: .chat, target: target, signer: TokenSigner(secret: secret), topic: ChannelPlan.chatTopic(0),
            concurrency: concurrency, size: 64, rate: 1 / messageInterval.seconds)
        if tlsPercent > 0, let tlsURL {
            var tlsTarget = try Target(url: tlsURL, schemes: ["wss"])
            if tlsTarget.path == "/" { tlsTarget.path = target.path }
            plan.tls = TLSMix(target: tlsTarget, context: try BenchTLSContext(), share: tlsPercent / 100)
        }
        plan.rooms = rooms
        plan.users = users
        plan.reconnect = true
        plan.churnPerMinute = churnPercentPerMinute / 100
        plan.typingShare = typingPercent / 100
        return plan
    }
}

/// The soak's coordinator state: the samples and events so far, and what the next swap does.
struct SoakRun {
    let runner: ChannelRunner
    let driver: UpgradeDriver
    /// Monotonic time traffic started.
    let start: UInt64
    let handlers: [String]
    var binary: String?
    var samples: [SoakSample] = []
    var events: [SoakEvent] = []
    private var swaps = 0
    private var pendingLabels: [String] = []
    /// Each sender's last message number at the previous sample.
    private var previousSent: [Int: UInt64]?

    init(runner: ChannelRunner, driver: UpgradeDriver, start: UInt64, handlers: [String]) {
        self.runner = runner
        self.driver = driver
        self.start = start
        self.handlers = handlers
    }

    mutating func perform(_ action: SoakSchedule.Action) {
        switch action {
        case .sample:
            takeSample()
        case .quiet:
            runner.pauseChurn(true)
        case .swap:
            // To the plugin, then back (rollback) with one plugin; through the plugins in turn with several.
            let rollback = handlers.count == 1 && swaps % 2 == 1
            let path = handlers.isEmpty ? "" : handlers[swaps % handlers.count]
            swaps += 1
            upgrade { driver in
                rollback ? driver.rollback() : driver.perform(UpgradeStep(kind: "handlers", path: path))
            }
        case .upgrade:
            guard let binary else { return }
            upgrade { driver in driver.perform(UpgradeStep(kind: "binary", path: binary)) }
        }
    }

    /// Runs one upgrade with the flap counter on until a second after the answer, then lets churn go on.
    private mutating func upgrade(_ request: (UpgradeDriver) -> UpgradeAttempt) {
        runner.upgradeWindow(true)
        let attempt = request(driver)
        sleep(untilNanoseconds: MonotonicClock.nowNanoseconds() + 1_000_000_000)
        runner.upgradeWindow(false)
        runner.pauseChurn(false)
        let event = SoakEvent(attempt, start: start)
        events.append(event)
        pendingLabels.append(event.label)
    }

    private mutating func takeSample() {
        let seconds = Double(MonotonicClock.nowNanoseconds() - start) / 1e9
        let result = runner.sample()
        let sample = SoakSample(
            seconds: seconds, status: driver.serverStatus(), result: result, through: previousSent,
            events: pendingLabels)
        previousSent = result.chatSent
        pendingLabels = []
        samples.append(sample)
        say(sample.row)
    }
}

/// Writes a line to stdout at once (print buffers when stdout is a pipe; a soak's table should show as it grows).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
