/// Checks one receiver's view of the chat messages of the other members of its room: each message exactly once
/// and, per sender, in increasing sequence order.
///
/// Senders number their messages 1, 2, 3, … Per sender the checker keeps the highest sequence number seen, the
/// number of distinct messages received and the numbers skipped over so far. A number above the highest one is
/// in order (skipping numbers marks them missing: a loss unless they turn up later); a lower or equal number is
/// either a missing one arriving late (a reorder) or one already received (a duplicate). Whether a gap really
/// is a loss is decided at the end, after a drain, with ``ReceiverView/lost(views:through:unacknowledged:)``: every
/// message of a sender that got an ok reply must have reached every member of the room.
///
/// Send times (carried in every message) say *when* a loss happened: the highest message's, and for each missing
/// number an estimate interpolated between the messages received on either side of its gap (the senders pace
/// their messages evenly, so the estimate lands within one message interval).
struct SequenceChecker {
    enum Outcome: Equatable {
        case inOrder
        case duplicate
        case reordered
    }

    private struct Sender {
        var highest: UInt64 = 0
        var highestSentAt: UInt64 = 0
        var distinct: UInt64 = 0
        /// Numbers skipped over so far, with their estimated send times.
        var missing: [UInt64: UInt64] = [:]
    }

    private var senders: [Int: Sender] = [:]
    private(set) var duplicates: UInt64 = 0
    private(set) var reorders: UInt64 = 0

    /// Records message `sequence` (from 1) of `sender`, sent at monotonic time `sentAt`.
    @discardableResult
    mutating func observe(sender: Int, sequence: UInt64, sentAt: UInt64 = 0) -> Outcome {
        var track = senders[sender, default: Sender()]
        defer { senders[sender] = track }
        if sequence > track.highest {
            let gap = sequence - track.highest
            if gap > 1 {
                // Before the first message there is no lower bound: the gap's messages get this one's time.
                let from = track.highest == 0 || sentAt < track.highestSentAt ? sentAt : track.highestSentAt
                for step in 1..<gap { track.missing[track.highest + step] = from + (sentAt - from) * step / gap }
            }
            track.highest = sequence
            track.highestSentAt = sentAt
            track.distinct += 1
            return .inOrder
        }
        if track.missing.removeValue(forKey: sequence) != nil {
            track.distinct += 1
            reorders += 1
            return .reordered
        }
        duplicates += 1
        return .duplicate
    }

    /// Distinct messages received from `sender`.
    func received(from sender: Int) -> UInt64 {
        senders[sender]?.distinct ?? 0
    }

    /// The highest sequence number received from `sender` and its send time (0 and 0 when none was).
    func highest(from sender: Int) -> (sequence: UInt64, sentAt: UInt64) {
        senders[sender].map { ($0.highest, $0.highestSentAt) } ?? (0, 0)
    }

    /// What this receiver got of `sender`, for the loss count across processes (see ``ReceiverView``).
    func view(from sender: Int) -> ReceiverView {
        guard let track = senders[sender] else { return ReceiverView(highest: 0, missing: []) }
        return ReceiverView(highest: track.highest, missing: track.missing.keys.sorted())
    }

    /// The numbers of `sender` below the highest one that never arrived, with their estimated send times.
    func missing(from sender: Int) -> [UInt64: UInt64] {
        senders[sender]?.missing ?? [:]
    }
}
