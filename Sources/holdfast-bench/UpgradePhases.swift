/// A stretch of monotonic time, both ends included.
struct Span: Codable, Sendable, Equatable {
    var start: UInt64
    var end: UInt64

    func contains(_ time: UInt64) -> Bool { time >= start && time <= end }
}

/// How the `upgrade` scenario divides a run's time among its upgrades, once they have all been answered.
///
/// - **During** upgrade k: send times in [request k sent − margin, answer k received + margin]. Messages sent
///   then were in flight across the upgrade; their latency is reported per upgrade.
/// - **Steady**: send times inside the measured window and outside every during span.
/// - **Epoch** k (from 1) runs from request k sent − margin until epoch k+1 begins (the last one until the
///   end of the run); epoch 0 is everything before. Failures (closes, duplicates, reorders, `presence_diff`
///   frames: when they arrive; losses: when the lost message was sent) are charged to the epoch they fall in,
///   so each one is blamed on the latest upgrade that could have caused it.
struct UpgradePhases: Codable, Sendable, Equatable {
    /// Per upgrade, in order.
    var during: [Span]
    /// The measured window (steady state lies inside it).
    var measured: Span

    /// The number of upgrades.
    var count: Int { during.count }

    /// The epoch `time` falls in: 0 before the first upgrade, k in upgrade k's.
    func epoch(of time: UInt64) -> Int {
        // Upgrades run one after the other, so the spans' starts ascend.
        var epoch = 0
        while epoch < during.count, during[epoch].start <= time { epoch += 1 }
        return epoch
    }

    /// The index (from 0) of the upgrade during which a message sent at `sentAt` was in flight, if any.
    func upgrade(inFlightAt sentAt: UInt64) -> Int? {
        during.firstIndex { $0.contains(sentAt) }
    }
}
