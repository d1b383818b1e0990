public import HoldfastCore
public import HoldfastJSON

/// When a step started: on the monotonic clock and on the process's CPU clock (every thread's time).
public struct StepStart: Sendable {
    /// Monotonic nanoseconds.
    public let wall: UInt64
    /// The process's CPU nanoseconds (``ProcessCPUClock``).
    public let cpu: UInt64
    /// Every thread's CPU, only with ``threadsSampled``.
    public let threads: ThreadCPUSample?

    /// `HOLDFAST_UPGRADE_THREAD_CPU=1`: each step also says which threads spent its CPU (`steps-threads` in the
    /// log), read from `/proc` at each step's start and end (tens of µs each, so off by default).
    public static let threadsSampled = ProcessEnvironment.current()["HOLDFAST_UPGRADE_THREAD_CPU"] == "1"

    /// Now.
    public init() {
        threads = Self.threadsSampled ? ThreadCPUSample() : nil
        (wall, cpu) = (MonotonicClock.nowNanoseconds(), ProcessCPUClock.nowNanoseconds())
    }
}

/// The steps of a binary upgrade as the old process times them, in order: each with its wall time and, when the
/// process timed it itself, the CPU time every thread of the process spent meanwhile. In the pause the loops
/// serve nothing, so a step's CPU is the handoff's own work, a figure a loaded machine does not stretch.
public struct StepTimings: Sendable, CustomStringConvertible {
    /// Each step: its name, wall milliseconds, CPU milliseconds (nil for a step timed by the other process).
    public private(set) var steps: [(name: String, wall: Double, cpu: Double?)] = []
    /// Per step, the threads that spent its CPU (``ThreadCPUSample/spent(since:minimumMilliseconds:)``), only with
    /// ``StepStart/threadsSampled``.
    public private(set) var threads: [(name: String, spent: String)] = []

    /// No step yet.
    public init() {}

    /// Times the step `name`, started at `start`, until now.
    public mutating func mark(_ name: String, since start: StepStart) {
        let now = StepStart()
        steps.append((name, Double(now.wall &- start.wall) / 1e6, Double(now.cpu &- start.cpu) / 1e6))
        if let before = start.threads, let after = now.threads {
            // The step's monotonic start, to line it up with a profile recorded on CLOCK_MONOTONIC.
            threads.append(("\(name)@\(start.wall)", after.spent(since: before)))
        }
    }

    /// A step the other process timed (wall time only), e.g. the new process's `rebuild`.
    public mutating func append(_ name: String, milliseconds: Double) { steps.append((name, milliseconds, nil)) }

    /// `name=ms,...` of the wall times, rounded to 0.01 ms.
    public var description: String { Self.text(steps.map { ($0.name, $0.wall) }) }

    /// `name=ms,...` of the CPU times, for the steps this process timed.
    public var cpuDescription: String { Self.text(steps.compactMap { step in step.cpu.map { (step.name, $0) } }) }

    /// `name=[threads]|...` of the steps' threads (empty unless sampled).
    public var threadsDescription: String { threads.map { "\($0.name)=[\($0.spent)]" }.joined(separator: "|") }

    /// The wall times as a JSON object (the answer's `steps_ms`).
    public var wallJSON: JSONValue { .object(steps.map { JSONMember($0.name, .double($0.wall)) }) }

    /// The CPU times as a JSON object (the answer's `steps_cpu_ms`).
    public var cpuJSON: JSONValue {
        .object(steps.compactMap { step in step.cpu.map { JSONMember(step.name, .double($0)) } })
    }

    private static func text(_ steps: [(String, Double)]) -> String {
        steps.map { "\($0.0)=\((($0.1 * 100).rounded() / 100))" }.joined(separator: ",")
    }
}
