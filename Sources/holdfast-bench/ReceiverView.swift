/// What one receiver got of one sender's chat messages: the highest number and the numbers missing below it
/// (see ``SequenceChecker``). Receivers that saw the same fold into one view with a count, so a run where all
/// went well carries one view per sender.
struct ReceiverView: Hashable, Codable, Sendable {
    var highest: UInt64
    /// Ascending.
    var missing: [UInt64]

    /// Whether message `number` reached this receiver.
    func has(_ number: UInt64) -> Bool {
        number >= 1 && number <= highest && missing.binarySearchContains(number) == false
    }

    /// The messages numbered up to `through` that this receiver lacks, leaving out the numbers in `excluded`
    /// (messages that never got an ok reply: nothing promised they were stored).
    func lacking(through: UInt64, excluding excluded: Set<UInt64>) -> UInt64 {
        var count: UInt64 = 0
        for number in missing where number <= through && !excluded.contains(number) { count += 1 }
        if through > highest {
            count += through - highest - UInt64(excluded.count { $0 > highest && $0 <= through })
        }
        return count
    }

    /// Acknowledged messages missing at receivers, over every (sender, receiver) pair: for each sender, the
    /// numbers up to `through[sender]` minus its `unacknowledged` ones, at each receiver of each view.
    static func lost(
        views: [Int: [ReceiverView: Int]], through: [Int: UInt64], unacknowledged: [Int: [UInt64]]
    ) -> UInt64 {
        var total: UInt64 = 0
        for (sender, senderViews) in views {
            let last = through[sender] ?? 0
            let excluded = Set(unacknowledged[sender] ?? [])
            for (view, receivers) in senderViews {
                total += view.lacking(through: last, excluding: excluded) * UInt64(receivers)
            }
        }
        return total
    }
}

extension Array where Element == UInt64 {
    /// Whether the ascending array holds `value`.
    fileprivate func binarySearchContains(_ value: UInt64) -> Bool {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low < count && self[low] == value
    }
}
