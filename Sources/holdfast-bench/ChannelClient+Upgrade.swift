/// The `upgrade` scenario's share of a chat loop: its timeline sorted by upgrade, with the loss evidence.
extension ChannelClient {
    /// The loop's ``PhaseTally`` once the upgrades' times are known (nil otherwise).
    func upgradeTally() -> PhaseTally? {
        guard let timeline, let phases else { return nil }
        var tally = timeline.summarize(phases)
        tally.lossMarks = lossMarks()
        return tally
    }

    /// For every joined member and every other member of its room: the highest message received (a tail:
    /// everything acknowledged above it is lost) and each message missing below it, with send times. Marks for
    /// the same message are folded into one with a receiver count, so a loop sends one tail per sender when all
    /// went well.
    private func lossMarks() -> [LossMark] {
        struct Key: Hashable {
            var sender: Int
            var sequence: UInt64
            var tail: Bool
        }
        var marks: [Key: LossMark] = [:]
        func add(_ sender: Int, _ sequence: UInt64, sentAt: UInt64, tail: Bool) {
            let key = Key(sender: sender, sequence: sequence, tail: tail)
            if var mark = marks[key] {
                mark.receivers += 1
                mark.sentAt = min(mark.sentAt, sentAt)
                marks[key] = mark
            } else {
                marks[key] = LossMark(sender: sender, sequence: sequence, receivers: 1, sentAt: sentAt, tail: tail)
            }
        }
        let rooms = max(1, plan.rooms)
        for member in members where member.role == .chatter && member.joined {
            for sender in stride(from: member.room, to: plan.users, by: rooms) where sender != member.number {
                let highest = member.checker.highest(from: sender)
                add(sender, highest.sequence, sentAt: highest.sentAt, tail: true)
                for (sequence, sentAt) in member.checker.missing(from: sender) { add(sender, sequence, sentAt: sentAt, tail: false) }
            }
        }
        return Array(marks.values)
    }
}
