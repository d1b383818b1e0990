import ArgumentParser
import Foundation
import Histogram
import HoldfastCore

/// `holdfast-bench presence-burst`: N users join one room at once; how long until everyone sees everyone.
///
/// Connects N sockets (users `u0`…`u(N-1)`) first, reads nothing of the room, then at one instant every client
/// starts joining (at most `--join-concurrency` joins awaiting their reply per process). Each client applies
/// `presence_state` and every `presence_diff` to a bitset of users and is complete when it holds all N.
/// Reports the frames that took, the time from the first join sent to the last view completed, join reply
/// latency, with `--probes K` the time a presence change takes to reach every member once the room is full (a
/// ``PresenceProbe`` rejoins K times; every member times each diff), and (with `--server-pid`) the server's memory per joined connection after `--hold` seconds. With
/// `--tls-share`, that share of the users connects over TLS to `--tls-url`.
struct PresenceBurstCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presence-burst",
        abstract: "N users join one room at once; measure presence convergence, frames and join latency."
    )

    @Option(help: "Phoenix socket endpoint (vsn and token are added).") var url = "ws://127.0.0.1:4000/socket/websocket"
    @Option(help: "Server secret (HOLDFAST_SECRET_KEY) for signing connect tokens.") var secret: String
    @Option(help: "Room topic.") var room = "room:bench"
    @Option(help: "Users (one socket each, over all processes).") var connections = 500
    @Option(help: "Joins awaiting their reply at once, per process.") var joinConcurrency = 256
    @Option(help: "Seconds allowed from the first join until every view is complete.") var duration = 60.0
    @Option(help: "Seconds to hold the joined sockets before reading the server's memory.") var hold = 2.0
    @Option(help: "Event loop threads per process.") var threads = 1
    @Option(help: "Client processes; each holds its share of the users.") var processes = 1
    @Option(help: "Handshakes in progress at once, per process.") var concurrency = 256
    @Option(help: "Seconds allowed for opening all connections.") var connectTimeout = 120.0
    @OptionGroup var compression: DeflateOption
    @Option(help: "Once every view is complete: presence changes (probe rejoins) timed at every member.")
    var probes = 0
    @Option(help: "Seconds between probe rejoins (longer than the server's presence window).")
    var probeInterval = 0.25
    @Option(name: .customLong("server-pid"), help: "Server process whose memory is measured.") var serverPID: Int32?
    @Option(help: "Write a JSON report to this file.") var json: String?
    @OptionGroup var tls: TLSOptions
    @Option(help: .hidden) var worker: Int?
    @Option(help: .hidden) var firstUser = 0
    @Option(help: .hidden) var expectedMembers: Int?

    func validate() throws {
        guard connections > 0, threads > 0, processes > 0, concurrency > 0, joinConcurrency > 0, duration > 0, hold >= 0 else {
            throw ValidationError("connections, threads, processes, concurrency and duration must be positive")
        }
        guard connections >= processes else { throw ValidationError("need at least one user per process") }
        guard probes >= 0, probeInterval > 0 else { throw ValidationError("probes must be >= 0 and the interval positive") }
    }

    func run() throws {
        raiseFileLimit()
        let target = try Target(url: url)
        var plan = ChannelPlan(
            scenario: .presenceBurst, target: target, signer: TokenSigner(secret: secret), topic: room,
            concurrency: concurrency, expectedMembers: expectedMembers ?? connections, joinConcurrency: joinConcurrency)
        plan.tls = try tls.mix(plain: target)
        plan.deflate = compression.enabled
        let users = (firstUser..<(firstUser + connections)).map { (ChannelRole.member, "u\($0)") }
        let makeRunner = { try ChannelRunner(plan: plan, users: users, threads: threads) }
        if worker != nil {
            try WorkerMode.serve(runner: try makeRunner(), connectTimeout: connectTimeout)
            return
        }
        let before = try serverPID.map { pid in
            guard let kib = ProcStats.residentKiB(pid: pid) else { throw BenchError("cannot read VmRSS of process \(pid)") }
            return kib
        }
        let anonymousBefore = serverPID.flatMap(ProcStats.residentAnonymousKiB)
        let fleet = try Fleet.connect(
            processes: processes, connectTimeout: connectTimeout, workerArguments: workerArguments, makeRunner: makeRunner)
        let start = MonotonicClock.nowNanoseconds() + 200_000_000
        let end = start + UInt64(duration * 1e9)
        try fleet.begin(Window(warmupStart: start, measureStart: start, measureEnd: end))
        try fleet.settle(deadline: end, expected: 0)
        if probes > 0 { try runProbes(target: target, plan: plan) }
        sleep(untilNanoseconds: MonotonicClock.nowNanoseconds() + UInt64(hold * 1e9))
        let after = serverPID.flatMap(ProcStats.residentKiB)
        let anonymousAfter = serverPID.flatMap(ProcStats.residentAnonymousKiB)
        let result = try fleet.finish(closeTimeout: 5)

        var report = PresenceBurstReport(self, result, rssBefore: before, rssAfter: after)
        report.charge(anonymousBefore: anonymousBefore, anonymousAfter: anonymousAfter)
        print(report.summary)
        if let json { try writeJSON(report, to: json) }
        if result.hasFailures || result.membersComplete < connections { throw ExitCode(1) }
    }

    /// Rejoins `probes` times as user `probe`, then leaves the members a moment to time the last diff.
    private func runProbes(target: Target, plan: ChannelPlan) throws {
        let separator = target.path.contains("?") ? "&" : "?"
        let path = target.path + separator + "vsn=2.0.0&token=" + plan.signer.token(user: PresenceProbe.user)
        let probe = try PresenceProbe(target: target, path: path, topic: room, timeout: 10)
        for _ in 0..<probes {
            _ = try probe.rejoin()
            let next = MonotonicClock.nowNanoseconds() + UInt64(probeInterval * 1e9)
            while MonotonicClock.nowNanoseconds() < next {
                probe.drain()
                sleep(untilNanoseconds: min(next, MonotonicClock.nowNanoseconds() + 10_000_000))
            }
        }
        sleep(untilNanoseconds: MonotonicClock.nowNanoseconds() + 1_000_000_000)
        probe.drain()
    }

    private func workerArguments(_ index: Int) -> [String] {
        let part = EvenSplit(total: connections, parts: processes).range(index)
        let (share, first) = (part.count, part.lowerBound)
        return [
            "presence-burst", "--url", url, "--secret", secret, "--room", room, "--connections", "\(share)",
            "--join-concurrency", "\(joinConcurrency)", "--threads", "\(threads)", "--concurrency", "\(concurrency)",
            "--connect-timeout", "\(connectTimeout)", "--worker", "\(index)", "--first-user", "\(first)",
            "--expected-members", "\(connections)",
        ] + compression.workerArguments + tls.workerArguments
    }
}

/// The `presence-burst` scenario's report.
struct PresenceBurstReport: Codable {
    var scenario = "presence-burst"
    var url: String
    var room: String
    var users: Int
    var connectionsOpened: Int
    /// Users meant to connect over TLS, and those of them whose connection opened.
    var tlsConnections: Int
    var tlsOpened: Int
    var joined: Int
    var membersComplete: Int
    var processes: Int
    var threads: Int
    var joinConcurrency: Int
    /// First join sent to the last member's view holding all users (nil when some never did).
    var convergenceSeconds: Double?
    /// First join sent to the last join reply.
    var joinPhaseSeconds: Double
    var framesReceived: UInt64
    var bytesReceived: UInt64
    /// After decompression; with `--deflate`, how many bodies were inflated and how many came from the cache.
    var textBytesReceived: UInt64
    var deflate: Bool
    var inflated: UInt64
    var inflateCacheHits: UInt64
    var presenceStateFrames: UInt64
    var presenceDiffFrames: UInt64
    var joinLatencyMicroseconds: LatencySummary
    /// With `--probes`: rejoins sent, diffs timed (members × probes when none was missed) and their latency.
    var probes: Int
    var probeDiffsTimed: UInt64
    var probeLatencyMicroseconds: LatencySummary
    var holdSeconds: Double
    var serverRSSBeforeKiB: Int?
    var serverRSSAfterKiB: Int?
    /// (RSS after the hold − RSS before connecting) / joined connections.
    var kibPerJoinedConnection: Double?
    /// The anonymous part of the RSS (`RssAnon`: the heap, stacks) before and after, and its difference per joined
    /// connection: without the pages of mapped files (code the burst runs first, shared with other processes),
    /// which `kibPerJoinedConnection` includes.
    var serverAnonymousBeforeKiB: Int?
    var serverAnonymousAfterKiB: Int?
    var anonymousKiBPerJoinedConnection: Double?
    var errors: ChannelErrors

    init(_ command: PresenceBurstCommand, _ result: ChannelResult, rssBefore: Int?, rssAfter: Int?) {
        url = command.url
        room = command.room
        users = command.connections
        connectionsOpened = result.connectionsOpened
        tlsConnections = result.tlsConnections
        tlsOpened = result.tlsOpened
        joined = result.joined
        membersComplete = result.membersComplete
        processes = command.processes
        threads = command.threads
        joinConcurrency = command.joinConcurrency
        let first = result.firstJoinSentNanoseconds
        convergenceSeconds = result.membersComplete == command.connections && result.lastCompleteNanoseconds > first
            ? Double(result.lastCompleteNanoseconds - first) / 1e9 : nil
        joinPhaseSeconds = result.lastJoinReplyNanoseconds > first ? Double(result.lastJoinReplyNanoseconds - first) / 1e9 : 0
        framesReceived = result.framesReceived
        bytesReceived = result.bytesReceived
        textBytesReceived = result.textBytesReceived
        deflate = command.compression.enabled
        inflated = result.inflated
        inflateCacheHits = result.inflateCacheHits
        presenceStateFrames = result.presenceStates
        presenceDiffFrames = result.presenceDiffs
        joinLatencyMicroseconds = LatencySummary(ChannelResult.histogram(result.joinLatency))
        probes = command.probes
        let probeHistogram = ChannelResult.histogram(result.probeLatency)
        probeDiffsTimed = probeHistogram.totalCount
        probeLatencyMicroseconds = LatencySummary(probeHistogram)
        holdSeconds = command.hold
        serverRSSBeforeKiB = rssBefore
        serverRSSAfterKiB = rssAfter
        if let rssBefore, let rssAfter, result.joined > 0 {
            kibPerJoinedConnection = Double(rssAfter - rssBefore) / Double(result.joined)
        }
        errors = ChannelErrors(result)
    }

    /// Records the anonymous part of the server's RSS before connecting and after the hold.
    mutating func charge(anonymousBefore: Int?, anonymousAfter: Int?) {
        (serverAnonymousBeforeKiB, serverAnonymousAfterKiB) = (anonymousBefore, anonymousAfter)
        if let anonymousBefore, let anonymousAfter, joined > 0 {
            anonymousKiBPerJoinedConnection = Double(anonymousAfter - anonymousBefore) / Double(joined)
        }
    }

    var summary: String {
        var lines = [
            "presence-burst \(url) \(room): \(joined)/\(users) joined (\(tlsOpened)/\(tlsConnections) TLS connections "
                + "opened), \(membersComplete) complete views, "
                + "\(processes) process(es) × \(threads) thread(s), \(joinConcurrency) joins in flight per process",
            convergenceSeconds.map { String(format: "  convergence: %.3f s from the first join to the last complete view", $0) }
                ?? "  convergence: not reached (\(membersComplete) of \(users) views complete)",
            String(format: "  join phase: %.3f s; join reply latency µs: ", joinPhaseSeconds) + joinLatencyMicroseconds.line,
            "  frames received: \(framesReceived) (\(presenceStateFrames) presence_state, \(presenceDiffFrames) presence_diff), "
                + String(format: "%.1f MiB", Double(bytesReceived) / 1_048_576)
                + (deflate ? String(format: " compressed, %.1f MiB of text; %llu bodies inflated, %llu from the cache",
                                    Double(textBytesReceived) / 1_048_576, inflated, inflateCacheHits) : ""),
        ]
        if probes > 0 {
            lines.append(
                "  presence change reaching every member (\(probes) probe rejoins, \(probeDiffsTimed) of "
                    + "\(joined * probes) diffs timed; includes the server's presence window) µs: " + probeLatencyMicroseconds.line)
        }
        if let serverRSSBeforeKiB, let serverRSSAfterKiB {
            lines.append(String(
                format: "  server RSS: %d KiB before connecting, %d KiB after %.1f s hold: %.2f KiB per joined connection",
                serverRSSBeforeKiB, serverRSSAfterKiB, holdSeconds, kibPerJoinedConnection ?? 0))
        }
        if let serverAnonymousBeforeKiB, let serverAnonymousAfterKiB {
            lines.append(String(
                format: "  of it anonymous (RssAnon, no mapped files): %d KiB before, %d KiB after: %.2f KiB per joined"
                    + " connection",
                serverAnonymousBeforeKiB, serverAnonymousAfterKiB, anonymousKiBPerJoinedConnection ?? 0))
        }
        lines.append(contentsOf: errors.lines)
        return lines.joined(separator: "\n")
    }
}
