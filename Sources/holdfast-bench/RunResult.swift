import Histogram

/// What one event loop, one process or a whole run measured, in a form that merges exactly and crosses
/// process boundaries as JSON.
///
/// Latencies travel as the histogram's recorded buckets (value, count): re-recording them on the other side
/// lands every count in the same bucket, so merging worker histograms loses nothing.
struct RunResult: Codable, Sendable {
    /// One histogram bucket: its highest equivalent value in nanoseconds and its count.
    struct Bucket: Codable, Sendable {
        var value: UInt64
        var count: UInt64
    }

    var connectionsRequested = 0
    var connectionsOpened = 0
    /// Connections meant to use TLS, and those of them that opened.
    var tlsConnections = 0
    var tlsOpened = 0
    /// Connects or handshakes that failed or timed out.
    var connectFailures = 0
    /// Open connections the server closed or reset before the benchmark closed them.
    var unexpectedCloses = 0
    /// Frames that broke RFC 6455 (each also ends its connection).
    var protocolViolations = 0
    /// Echoes whose payload did not match what was sent (wrong length, kind or timestamp).
    var badEchoes = 0
    /// Monotonic times of the first connect attempt and the last completed handshake.
    var connectStartNanoseconds: UInt64 = .max
    var connectEndNanoseconds: UInt64 = 0
    /// Echo messages sent in total, and answers received inside the measured window.
    var messagesSent: UInt64 = 0
    var messagesMeasured: UInt64 = 0
    /// Answers received in each second of the measured window.
    var perSecond: [UInt64] = []
    /// Round-trip latencies measured in the window.
    var latency: [Bucket] = []
    /// A few error messages with their counts, to say *why* something failed.
    var errorSamples: [String: Int] = [:]

    /// Whether anything went wrong that makes the numbers untrustworthy.
    var hasFailures: Bool {
        connectFailures + unexpectedCloses + protocolViolations + badEchoes > 0
            || connectionsOpened < connectionsRequested
    }

    /// Adds `other`'s counts to this one's.
    mutating func merge(_ other: RunResult) {
        connectionsRequested += other.connectionsRequested
        connectionsOpened += other.connectionsOpened
        tlsConnections += other.tlsConnections
        tlsOpened += other.tlsOpened
        connectFailures += other.connectFailures
        unexpectedCloses += other.unexpectedCloses
        protocolViolations += other.protocolViolations
        badEchoes += other.badEchoes
        connectStartNanoseconds = min(connectStartNanoseconds, other.connectStartNanoseconds)
        connectEndNanoseconds = max(connectEndNanoseconds, other.connectEndNanoseconds)
        messagesSent += other.messagesSent
        messagesMeasured += other.messagesMeasured
        if perSecond.count < other.perSecond.count {
            perSecond.append(contentsOf: repeatElement(0, count: other.perSecond.count - perSecond.count))
        }
        for (index, count) in other.perSecond.enumerated() { perSecond[index] += count }
        var merged = histogram()
        merged.add(other.histogram())
        latency = RunResult.buckets(of: merged)
        for (message, count) in other.errorSamples { noteError(message, count: count) }
    }

    /// Records an error message, keeping at most a handful of distinct ones.
    mutating func noteError(_ message: String, count: Int = 1) {
        if errorSamples[message] != nil || errorSamples.count < 8 {
            errorSamples[message, default: 0] += count
        }
    }

    /// The latency histogram rebuilt from its buckets.
    func histogram() -> Histogram<UInt64> {
        var histogram = RunResult.emptyHistogram()
        for bucket in latency { _ = histogram.record(bucket.value, count: bucket.count) }
        return histogram
    }

    /// An empty latency histogram: 1 ns to 1 hour at three significant digits.
    static func emptyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: maximumLatency, numberOfSignificantValueDigits: .three)
    }

    /// The largest latency the histogram tracks; larger values are clamped to it.
    static let maximumLatency: UInt64 = 3_600_000_000_000

    /// The non-empty buckets of `histogram`.
    static func buckets(of histogram: Histogram<UInt64>) -> [Bucket] {
        histogram.recordedValues().map { Bucket(value: $0.value, count: $0.count) }
    }
}
