/// Checks one receiver's view of the chat messages of the other members of its room: each message exactly once
/// and, per sender, in increasing sequence order.
///
/// Senders number their messages 1, 2, 3, … Per sender the checker keeps the highest sequence number seen, the
/// number of distinct messages received and the numbers skipped over so far. A number above the highest one is
/// in order (skipping numbers marks them missing: a loss unless they turn up later); a lower or equal number is
/// either a missing one arriving late (a reorder) or one already received (a duplicate). Whether a gap really
/// is a loss is decided at the end, after a drain, with ``lost(acknowledged:received:)``: a sender's acknowledged count
/// is the number of its messages every member of the room must have received.
struct SequenceChecker {
    enum Outcome: Equatable {
        case inOrder
        case duplicate
        case reordered
    }

    private struct Sender {
        var highest: UInt64 = 0
        var distinct: UInt64 = 0
        var missing: Set<UInt64> = []
    }

    private var senders: [Int: Sender] = [:]
    private(set) var duplicates: UInt64 = 0
    private(set) var reorders: UInt64 = 0

    /// Records message `sequence` (from 1) of `sender`.
    @discardableResult
    mutating func observe(sender: Int, sequence: UInt64) -> Outcome {
        var track = senders[sender, default: Sender()]
        defer { senders[sender] = track }
        if sequence > track.highest {
            if sequence > track.highest + 1 { track.missing.formUnion((track.highest + 1)..<sequence) }
            track.highest = sequence
            track.distinct += 1
            return .inOrder
        }
        if track.missing.remove(sequence) != nil {
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

    /// Messages of `sender` that were acknowledged to it (`acknowledged`) but never received here.
    static func lost(acknowledged: UInt64, received: UInt64) -> UInt64 {
        acknowledged > received ? acknowledged - received : 0
    }
}
