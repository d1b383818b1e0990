import ArgumentParser
import HoldfastCore

/// The options of a chat run, shared by `chat` and `upgrade` (which is a chat run with upgrades in the middle),
/// and the steps both take: connect the users, start traffic, drain, finish.
struct ChatOptions: ParsableArguments {
    @Option(
        name: .customLong("url"),
        help: """
            Phoenix socket endpoint (vsn and token are added); default ws://127.0.0.1:4000/socket/websocket. Repeat \
            it to spread the users over the nodes of a cluster: each room's members go round-robin over the URLs in \
            the order given (user i is member i / rooms of room i % rooms and connects to node (i / rooms) % nodes), \
            so a room with at least as many members as nodes has members on every node. Every check stays \
            cluster-wide: each member checks the messages of every other member of its room, whatever node either \
            is on, and that the room's message ids reach it in increasing order (one order per room).
            """)
    var urls: [String] = []
    @Option(help: "Server secret (HOLDFAST_SECRET_KEY) for signing connect tokens.") var secret: String
    @Option(help: "Users (one socket each, over all processes).") var connections = 100
    @Option(help: "Rooms; user i joins room:chat<i % rooms>.") var rooms = 10
    @Option(help: "Messages per second per user (open loop).") var rate = 1.0
    @Option(help: "Message body bytes (at least the \"c<i>:<seq>:\" prefix plus 16 hex digits).") var size = 64
    @Option(help: "Unmeasured seconds of traffic before the window.") var warmup = 1.0
    @Option(help: "Seconds allowed after the window for outstanding acks.") var drainTimeout = 10.0
    @Option(help: "Seconds to wait for deliveries once every ack is in.") var drain = 1.0
    @Option(help: "Event loop threads per process.") var threads = 1
    @Option(help: "Client processes; each holds its share of the users.") var processes = 1
    @Option(help: "Handshakes plus joins in progress at once, per process.") var concurrency = 256
    @Option(help: "Seconds allowed for opening and joining all connections.") var connectTimeout = 120.0
    @Option(name: .customLong("server-pid"), help: "Server process to charge CPU time to.") var serverPID: Int32?
    @Option(help: "Write a JSON report to this file.") var json: String?
    @Flag(
        help: """
            Reconnect dropped connections with phoenix.js's backoff (jittered ±50 %) and rejoin with last_seen_id; \
            drops are reported (count, reconnect time) instead of failing the run, and every acknowledged message \
            must still reach every member once, in order.
            """)
    var reconnect = false
    @OptionGroup var tls: TLSOptions
    @Option(help: .hidden) var worker: Int?
    @Option(help: .hidden) var firstUser = 0
    @Option(help: .hidden) var totalUsers: Int?
    /// Workers of the `upgrade` scenario keep every message's send time for the per-upgrade figures.
    @Flag(help: .hidden) var timeline = false
    @OptionGroup var compression: DeflateOption

    func validate() throws {
        guard connections > 0, rooms > 0, threads > 0, processes > 0, concurrency > 0, warmup >= 0, drain >= 0 else {
            throw ValidationError("connections, rooms, threads, processes and concurrency must be positive")
        }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard connections >= processes else { throw ValidationError("need at least one user per process") }
        guard size >= 16 else { throw ValidationError("--size must be at least 16 to hold the send time") }
    }

    /// The first node's endpoint (the only one without a repeated `--url`).
    var url: String { urls.first ?? "ws://127.0.0.1:4000/socket/websocket" }

    /// Every node's endpoint, in order.
    var nodeURLs: [String] { urls.isEmpty ? [url] : urls }

    /// Whether this process is a worker that serves the parent instead of running the scenario.
    var isWorker: Bool { worker != nil }

    /// Builds this process's runner: users `c<firstUser>`… of the plan, spread over `threads` loops.
    func makeRunner(timeline: Bool) throws -> ChannelRunner {
        let nodes = try nodeURLs.map { url throws(BenchError) in try Target(url: url) }
        let target = nodes[0]
        var plan = ChannelPlan(
            scenario: .chat, target: target, signer: TokenSigner(secret: secret), topic: ChannelPlan.chatTopic(0),
            concurrency: concurrency, size: size, rate: rate)
        plan.nodes = nodes
        plan.tls = try tls.mix(plain: target, nodes: nodes.count)
        plan.rooms = rooms
        plan.deflate = compression.enabled
        plan.users = totalUsers ?? connections
        plan.timeline = timeline || self.timeline
        plan.reconnect = reconnect
        let users = (firstUser..<(firstUser + connections)).map { (ChannelRole.chatter, "c\($0)") }
        return try ChannelRunner(plan: plan, users: users, threads: threads)
    }

    /// As a worker: serves the parent until it says `finish`. Otherwise opens and joins every user (in
    /// `--processes` workers when more than one) and returns the fleet.
    func connect(timeline: Bool) throws -> Fleet<ChannelRunner>? {
        raiseFileLimit()
        if isWorker {
            try WorkerMode.serve(runner: try makeRunner(timeline: timeline), connectTimeout: connectTimeout)
            return nil
        }
        return try Fleet.connect(
            processes: processes, connectTimeout: connectTimeout,
            workerArguments: { workerArguments($0, timeline: timeline) },
            makeRunner: { try makeRunner(timeline: timeline) })
    }

    /// A window that starts traffic a moment from now: `warmup` unmeasured seconds, then `duration` measured.
    func window(duration: Double) -> Window {
        let start = MonotonicClock.nowNanoseconds() + 200_000_000
        return Window(
            warmupStart: start, measureStart: start + UInt64(warmup * 1e9),
            measureEnd: start + UInt64((warmup + duration) * 1e9))
    }

    /// After the window: waits for every ack, then `drain` seconds for the last deliveries, then closes.
    func drainAndFinish(_ fleet: Fleet<ChannelRunner>, after window: Window) throws -> ChannelResult {
        try fleet.settle(deadline: window.measureEnd + UInt64(drainTimeout * 1e9), expected: 0)
        sleep(untilNanoseconds: MonotonicClock.nowNanoseconds() + UInt64(drain * 1e9))
        return try fleet.finish(closeTimeout: 2)
    }

    /// Worker `index` holds a contiguous share of the users, numbered from `--first-user`.
    private func workerArguments(_ index: Int, timeline: Bool) -> [String] {
        let part = EvenSplit(total: connections, parts: processes).range(index)
        return [
            "chat", "--secret", secret, "--connections", "\(part.count)", "--rooms", "\(rooms)",
            "--rate", "\(rate)", "--size", "\(size)", "--threads", "\(threads)", "--concurrency", "\(concurrency)",
            "--connect-timeout", "\(connectTimeout)", "--worker", "\(index)", "--first-user", "\(part.lowerBound)",
            "--total-users", "\(connections)",
        ] + nodeURLs.flatMap { ["--url", $0] } + tls.workerArguments + (timeline ? ["--timeline"] : []) + (reconnect ? ["--reconnect"] : [])
            + compression.workerArguments
    }
}
