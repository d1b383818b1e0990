/// Failures charged to one epoch of an `upgrade` run (see ``UpgradePhases``).
struct EpochCounts: Codable, Sendable, Equatable {
    /// Connections the server closed or reset, or dropped for a protocol violation.
    var closed: UInt64 = 0
    var lost: UInt64 = 0
    var duplicated: UInt64 = 0
    var reordered: UInt64 = 0
    var presenceDiffs: UInt64 = 0

    enum CodingKeys: String, CodingKey {
        case closed, lost, duplicated, reordered
        case presenceDiffs = "presence_diffs"
    }

    /// Whether any guarantee was broken.
    var failed: Bool { closed + lost + duplicated + reordered + presenceDiffs > 0 }

    mutating func add(_ other: EpochCounts) {
        closed += other.closed
        lost += other.lost
        duplicated += other.duplicated
        reordered += other.reordered
        presenceDiffs += other.presenceDiffs
    }
}

/// What receivers know of one kind of possibly lost message of a sender; whether it *was* lost depends on the
/// sender's acknowledged count, which only the merged result has.
struct LossMark: Codable, Sendable {
    var sender: Int
    var sequence: UInt64
    /// Receivers this mark stands for.
    var receivers: Int
    /// The (estimated) send time: of the missing message, or, for a tail, of the highest one received.
    var sentAt: UInt64
    /// false: `sequence` never arrived (a gap). true: `sequence` is the highest received, and every
    /// acknowledged message above it is lost.
    var tail: Bool

    /// How many acknowledged messages this mark loses, given the sender's acknowledged count.
    func lost(acknowledged: UInt64) -> UInt64 {
        if tail { return acknowledged > sequence ? (acknowledged - sequence) * UInt64(receivers) : 0 }
        return sequence <= acknowledged ? UInt64(receivers) : 0
    }
}

/// The `upgrade` scenario's figures from one loop, one process or the whole run; merges exactly.
struct PhaseTally: Codable, Sendable {
    /// Epoch 0 (before the first upgrade), then one per upgrade; `lost` is filled in by ``attributeLosses``.
    var epochs: [EpochCounts]
    /// Per upgrade: latencies of messages in flight across it (deliveries to each other member, and acks).
    var deliveriesDuring: [[RunResult.Bucket]]
    var acksDuring: [[RunResult.Bucket]]
    /// Latencies of the messages sent in steady state.
    var deliveriesSteady: [RunResult.Bucket] = []
    var acksSteady: [RunResult.Bucket] = []
    /// Evidence for losses, charged to epochs once the acknowledged counts are known.
    var lossMarks: [LossMark] = []

    init(upgrades: Int) {
        epochs = Array(repeating: EpochCounts(), count: upgrades + 1)
        deliveriesDuring = Array(repeating: [], count: upgrades)
        acksDuring = Array(repeating: [], count: upgrades)
    }

    mutating func merge(_ other: PhaseTally) {
        for index in other.epochs.indices where index < epochs.count { epochs[index].add(other.epochs[index]) }
        for index in other.deliveriesDuring.indices where index < deliveriesDuring.count {
            deliveriesDuring[index] = ChannelResult.merged(deliveriesDuring[index], other.deliveriesDuring[index])
            acksDuring[index] = ChannelResult.merged(acksDuring[index], other.acksDuring[index])
        }
        deliveriesSteady = ChannelResult.merged(deliveriesSteady, other.deliveriesSteady)
        acksSteady = ChannelResult.merged(acksSteady, other.acksSteady)
        lossMarks += other.lossMarks
    }

    /// Charges every lost message to the epoch its mark's send time falls in, given each sender's acknowledged
    /// count, and drops the marks.
    mutating func attributeLosses(acknowledged: [Int: UInt64], phases: UpgradePhases) {
        for mark in lossMarks {
            let lost = mark.lost(acknowledged: acknowledged[mark.sender] ?? 0)
            if lost > 0 { epochs[min(phases.epoch(of: mark.sentAt), epochs.count - 1)].lost += lost }
        }
        lossMarks = []
    }
}
