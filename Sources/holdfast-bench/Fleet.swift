import Foundation
import HoldfastCore

/// A result that crosses process boundaries as JSON and merges exactly.
protocol FleetResult: Codable {
    init()
    mutating func merge(_ other: Self)
}

/// One process's share of a run, as the ``Fleet`` drives it.
protocol FleetRunner: AnyObject {
    associatedtype Result: FleetResult
    /// Opens (and, for channel scenarios, joins) every connection, waiting at most `timeout` seconds.
    func connect(timeout: Double)
    /// Arms the scenario's traffic for `window`.
    func begin(_ window: Window)
    /// Blocks until the scenario's traffic has settled (what that means is the scenario's: `expected` is its
    /// target count) or `deadline` passes.
    func settle(deadline: UInt64, expected: UInt64)
    /// Tells the runner how the run's time divides among upgrades, before ``finish(closeTimeout:)``.
    func attribute(to phases: UpgradePhases)
    /// Stops counting what other processes' closing connections cause; every process is told (and has
    /// applied it) before any of them closes.
    func quiet()
    /// Closes every connection and returns the merged result.
    func finish(closeTimeout: Double) -> Result
}

extension FleetRunner {
    func settle(deadline: UInt64, expected: UInt64) {}
    func attribute(to phases: UpgradePhases) {}
    func quiet() {}
}

extension RunResult: FleetResult {}
extension LoadRunner: FleetRunner {}

/// The client side of a run: either a runner in this process, or worker processes that each run one.
///
/// Workers are this same binary re-executed with a hidden `--worker INDEX` flag (one process may hold only so
/// many fds). They talk over pipes, one line per message: the worker says `ready` once its connections are
/// open, the parent answers `begin WARMUP START END`, optionally `settle DEADLINE EXPECTED` (answered with
/// `settled`) and `phases JSON` (the upgrades' times, see ``UpgradePhases``), and later `quiet` (answered with
/// `quiet`) and `finish`, and the worker
/// replies with its result as one JSON line. Windows are absolute monotonic times, which every process on the
/// machine shares, so all workers measure the same interval.
enum Fleet<Runner: FleetRunner> {
    case local(Runner)
    case workers([WorkerProcess])

    /// Opens every connection: in this process when `processes` is 1, else in `processes` workers started with
    /// `workerArguments(index)`. Returns once all are open or have failed.
    static func connect(
        processes: Int,
        connectTimeout: Double,
        workerArguments: (Int) -> [String],
        makeRunner: () throws -> Runner
    ) throws -> Fleet {
        guard processes > 1 else {
            let runner = try makeRunner()
            runner.connect(timeout: connectTimeout)
            return .local(runner)
        }
        let executable = try selfExecutable()
        let workers = try (0..<processes).map { try WorkerProcess(executable: executable, arguments: workerArguments($0)) }
        for (index, worker) in workers.enumerated() {
            guard worker.readLine() == "ready" else { throw BenchError("worker \(index) did not report ready") }
        }
        return .workers(workers)
    }

    /// CPU time (user plus system, seconds) of the client processes so far: this one and every worker.
    var clientCPUSeconds: Double? {
        let pids: [Int32] = switch self {
        case .local: [getpid()]
        case .workers(let workers): [getpid()] + workers.map(\.pid)
        }
        let readings = pids.compactMap(ProcStats.cpuSeconds)
        return readings.count == pids.count ? readings.reduce(0, +) : nil
    }

    /// Seconds the client processes (this one and every worker) have waited for a CPU so far; see
    /// ``ProcStats/runQueueWaitSeconds(pid:)``.
    var clientRunQueueWaitSeconds: Double? {
        let pids: [Int32] = switch self {
        case .local: [getpid()]
        case .workers(let workers): [getpid()] + workers.map(\.pid)
        }
        let readings = pids.compactMap(ProcStats.runQueueWaitSeconds)
        return readings.count == pids.count ? readings.reduce(0, +) : nil
    }

    /// Starts echo traffic for `window` everywhere.
    func begin(_ window: Window) throws {
        switch self {
        case .local(let runner):
            runner.begin(window)
        case .workers(let workers):
            for worker in workers {
                try worker.send("begin \(window.warmupStart) \(window.measureStart) \(window.measureEnd)")
            }
        }
    }

    /// Waits until every process's traffic has settled or `deadline` passes (see ``FleetRunner/settle``).
    func settle(deadline: UInt64, expected: UInt64) throws {
        switch self {
        case .local(let runner):
            runner.settle(deadline: deadline, expected: expected)
        case .workers(let workers):
            for worker in workers { try worker.send("settle \(deadline) \(expected)") }
            for (index, worker) in workers.enumerated() {
                guard worker.readLine() == "settled" else { throw BenchError("worker \(index) did not settle") }
            }
        }
    }

    /// Tells every process how the run's time divides among upgrades.
    func attribute(to phases: UpgradePhases) throws {
        switch self {
        case .local(let runner):
            runner.attribute(to: phases)
        case .workers(let workers):
            let line = "phases " + String(decoding: try JSONEncoder().encode(phases), as: UTF8.self)
            for worker in workers { try worker.send(line) }
        }
    }

    /// Closes every connection and returns the merged result.
    func finish(closeTimeout: Double) throws -> Runner.Result {
        switch self {
        case .local(let runner):
            runner.quiet()
            return runner.finish(closeTimeout: closeTimeout)
        case .workers(let workers):
            for worker in workers { try worker.send("quiet") }
            for (index, worker) in workers.enumerated() where worker.readLine() != "quiet" {
                throw BenchError("worker \(index) did not stop counting")
            }
            for worker in workers { try worker.send("finish") }
            var merged = Runner.Result()
            for (index, worker) in workers.enumerated() {
                guard let line = worker.readLine(),
                      let result = try? JSONDecoder().decode(Runner.Result.self, from: Data(line.utf8)) else {
                    throw BenchError("worker \(index) sent no result")
                }
                merged.merge(result)
                worker.wait()
            }
            return merged
        }
    }

    /// The path of the running binary, so workers run exactly the same build.
    private static func selfExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { throw BenchError("cannot read /proc/self/exe") }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The parent's handle on one worker: its process and the two pipes of the line protocol.
final class WorkerProcess {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var pending: [UInt8] = []

    /// Starts `executable` with `arguments`; the worker's stderr is this process's.
    init(executable: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    /// The worker's process id.
    var pid: Int32 { process.processIdentifier }

    /// Sends one protocol line.
    func send(_ line: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Blocks for the next protocol line; nil when the worker closed its output (it exited).
    func readLine() -> String? {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            // `availableData` returns as soon as anything arrives; `read(upToCount:)` would wait for the full count.
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { return nil }
            pending.append(contentsOf: chunk)
        }
    }

    /// Waits for the worker to exit.
    func wait() {
        process.waitUntilExit()
    }
}

/// The worker side of the line protocol: open connections, say `ready`, obey `begin` and `finish`.
enum WorkerMode {
    /// Runs this process as worker `index` with `runner`, then exits the protocol after `finish`.
    static func serve(runner: some FleetRunner, connectTimeout: Double) throws {
        runner.connect(timeout: connectTimeout)
        reply("ready")
        while let line = Swift.readLine() {
            let words = line.split(separator: " ")
            switch words.first {
            case "begin" where words.count == 4:
                guard let warmup = UInt64(words[1]), let start = UInt64(words[2]), let end = UInt64(words[3]) else {
                    throw BenchError("bad begin line: \(line)")
                }
                runner.begin(Window(warmupStart: warmup, measureStart: start, measureEnd: end))
            case "settle" where words.count == 3:
                guard let deadline = UInt64(words[1]), let expected = UInt64(words[2]) else {
                    throw BenchError("bad settle line: \(line)")
                }
                runner.settle(deadline: deadline, expected: expected)
                reply("settled")
            case "phases":
                let json = line.drop { $0 != " " }
                guard let phases = try? JSONDecoder().decode(UpgradePhases.self, from: Data(json.utf8)) else {
                    throw BenchError("bad phases line: \(line)")
                }
                runner.attribute(to: phases)
            case "quiet":
                runner.quiet()
                reply("quiet")
            case "finish":
                let result = runner.finish(closeTimeout: 2)
                reply(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
                return
            default:
                throw BenchError("unknown command from parent: \(line)")
            }
        }
        // The parent went away: close politely anyway.
        _ = runner.finish(closeTimeout: 2)
    }

    // Written unbuffered, straight to fd 1: the parent blocks on each line.
    private static func reply(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
