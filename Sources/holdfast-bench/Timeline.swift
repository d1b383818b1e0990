import Histogram

/// What one chat loop saw over time, kept raw for the `upgrade` scenario: the upgrades' times are known only
/// once they have all been answered, so every message's send time and latency, and every failure's time, waits
/// here until ``summarize(_:)`` sorts them into a ``PhaseTally``.
///
/// Memory: 16 bytes per checked delivery and per ack sent inside the measured window, 8 per failure.
struct Timeline {
    /// A message's send time and how long it took (to one receiver, or to its ack).
    struct Sample {
        var sentAt: UInt64
        var latency: UInt64
    }

    /// The measured window, once traffic is armed; samples of messages sent outside it are not kept.
    var measured = Span(start: .max, end: 0)
    var deliveries: [Sample] = []
    var acks: [Sample] = []
    var closes: [UInt64] = []
    var duplicates: [UInt64] = []
    var reorders: [UInt64] = []
    var presenceDiffs: [UInt64] = []

    mutating func delivered(sentAt: UInt64, latency: UInt64) {
        if measured.contains(sentAt) { deliveries.append(Sample(sentAt: sentAt, latency: latency)) }
    }

    mutating func acknowledged(sentAt: UInt64, latency: UInt64) {
        if measured.contains(sentAt) { acks.append(Sample(sentAt: sentAt, latency: latency)) }
    }

    /// Sorts everything into `phases`' epochs and latency classes (the loss marks are added by the caller).
    func summarize(_ phases: UpgradePhases) -> PhaseTally {
        var tally = PhaseTally(upgrades: phases.count)
        for time in closes { tally.epochs[phases.epoch(of: time)].closed += 1 }
        for time in duplicates { tally.epochs[phases.epoch(of: time)].duplicated += 1 }
        for time in reorders { tally.epochs[phases.epoch(of: time)].reordered += 1 }
        for time in presenceDiffs { tally.epochs[phases.epoch(of: time)].presenceDiffs += 1 }
        (tally.deliveriesDuring, tally.deliveriesSteady) = Timeline.classify(deliveries, phases)
        (tally.acksDuring, tally.acksSteady) = Timeline.classify(acks, phases)
        return tally
    }

    /// Latency buckets per upgrade for samples sent during it, and for the steady rest of the window.
    private static func classify(_ samples: [Sample], _ phases: UpgradePhases) -> ([[RunResult.Bucket]], [RunResult.Bucket]) {
        var during = Array(repeating: RunResult.emptyHistogram(), count: phases.count)
        var steady = RunResult.emptyHistogram()
        for sample in samples {
            let latency = min(sample.latency, RunResult.maximumLatency)
            if let upgrade = phases.upgrade(inFlightAt: sample.sentAt) {
                _ = during[upgrade].record(latency)
            } else if phases.measured.contains(sample.sentAt) {
                _ = steady.record(latency)
            }
        }
        return (during.map(RunResult.buckets(of:)), RunResult.buckets(of: steady))
    }
}
