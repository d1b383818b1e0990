import HoldfastCore

/// One churned user whose leave and join other members of its room must see.
struct ChurnWatch {
    var room: Int
    /// When the user left; a witness must have joined before it.
    var since: UInt64
    /// Member indices in this loop, with what each saw.
    var witnesses: [Int]
    var sawLeave: [Bool]
    var sawJoin: [Bool]
}

/// The soak's churn and presence checks on one loop.
///
/// Every second the loop makes its share of members leave cleanly and come back (``ChannelPlan/churnPerMinute``
/// per minute, spread over the seconds), unless the coordinator holds churn off around an upgrade. For each user
/// that leaves, up to ``witnessCount`` other members of its room on this loop watch its key (`c<n>`) in their
/// `presence_diff`s: once the user has rejoined and ``verdictDelayMilliseconds`` passed, each witness that stayed
/// joined throughout must have seen it in a diff's leaves and in a diff's joins (one coalesced diff may carry
/// both). While an upgrade is under way every `presence_diff` counts as a flap (``ChannelResult/upgradeDiffs``).
extension ChannelClient {
    /// Witnesses per churned user: enough to notice a missing diff, few enough to keep diff scanning cheap.
    static let witnessCount = 3
    /// Time for the join diff to arrive after the rejoin (diffs go out within the room's presence window).
    static let verdictDelayMilliseconds: Int64 = 3000

    /// Churns this loop's share of members once a second until the window ends.
    func scheduleChurn() {
        loop.schedule(afterMilliseconds: 1000) { [self] in
            guard !closing, let window, MonotonicClock.nowNanoseconds() < window.measureEnd else { return }
            if !churnPaused {
                churnCarry += Double(members.count) * plan.churnPerMinute / 60
                var due = Int(churnCarry)
                churnCarry -= Double(due)
                // A pick that cannot churn (already away or leaving) is skipped, not retried: the share is a rate.
                while due > 0 {
                    churn(Int(random.next() % UInt64(members.count)))
                    due -= 1
                }
            }
            scheduleChurn()
        }
    }

    /// Member `index` leaves: the other members of its room on this loop that are joined become its witnesses.
    func watchChurn(_ index: Int, now: UInt64) {
        let rooms = max(1, plan.rooms)
        var witnesses: [Int] = []
        // Members of a loop are consecutive users, so the room's other members sit `rooms` indices apart.
        for candidate in stride(from: index % rooms, to: members.count, by: rooms) where candidate != index {
            let member = members[candidate]
            guard member.joined, member.droppedAt == 0, !member.leaving else { continue }
            witnesses.append(candidate)
            if witnesses.count == ChannelClient.witnessCount { break }
        }
        guard !witnesses.isEmpty else { return }
        let room = members[index].room
        if churnWatches[members[index].number] == nil { watchedRooms[room, default: 0] += 1 }
        churnWatches[members[index].number] = ChurnWatch(
            room: room, since: now, witnesses: witnesses, sawLeave: witnesses.map { _ in false },
            sawJoin: witnesses.map { _ in false })
    }

    /// A `presence_diff` at member `index` in a room with watched users: marks the watched keys it carries.
    func churnDiff(_ index: Int, _ bytes: UnsafeRawBufferPointer, _ payload: Int) {
        var joinsAt: Int?
        var leavesAt: Int?
        let parsed = PhoenixScan.forEachMember(bytes, objectAt: payload) { key, value in
            if PhoenixScan.equals(bytes, key, "joins") { joinsAt = value }
            if PhoenixScan.equals(bytes, key, "leaves") { leavesAt = value }
        }
        guard parsed, let joinsAt, let leavesAt else {
            bad("presence_diff without joins and leaves")
            return
        }
        func mark(_ key: Range<Int>, leave: Bool) {
            guard key.count > 1, bytes[key.lowerBound] == UInt8(ascii: "c"),
                let number = PhoenixScan.decimal(bytes, (key.lowerBound + 1)..<key.upperBound),
                let watch = churnWatches[Int(number)], let slot = watch.witnesses.firstIndex(of: index)
            else { return }
            if leave {
                churnWatches[Int(number)]?.sawLeave[slot] = true
            } else {
                churnWatches[Int(number)]?.sawJoin[slot] = true
            }
        }
        PhoenixScan.forEachMember(bytes, objectAt: leavesAt) { key, _ in mark(key, leave: true) }
        PhoenixScan.forEachMember(bytes, objectAt: joinsAt) { key, _ in mark(key, leave: false) }
    }

    /// A churned (or dropped) member is back: judge its witnesses once the join diff has had time to arrive.
    func churnRejoined(_ index: Int, now: UInt64) {
        let user = members[index].number
        guard let since = churnWatches[user]?.since else { return }
        loop.schedule(afterMilliseconds: ChannelClient.verdictDelayMilliseconds) { [self] in
            judgeChurn(user, since: since)
        }
    }

    /// Counts the witnesses of `user`'s churn (the one that began at `since`) that saw both diffs, and those that
    /// missed one; witnesses that left or lost their connection meanwhile are not judged.
    func judgeChurn(_ user: Int, since: UInt64) {
        guard churnWatches[user]?.since == since, let watch = churnWatches.removeValue(forKey: user) else { return }
        watchedRooms[watch.room, default: 1] -= 1
        if watchedRooms[watch.room] == 0 { watchedRooms[watch.room] = nil }
        for (slot, witness) in watch.witnesses.enumerated() {
            let member = members[witness]
            guard member.joined, member.droppedAt == 0, member.joinedAt < watch.since else { continue }
            if watch.sawLeave[slot] && watch.sawJoin[slot] {
                result.churnSeen += 1
            } else {
                result.churnMissed += 1
                result.noteError(
                    "c\(member.number) missed c\(user)'s " + (watch.sawLeave[slot] ? "join" : "leave")
                        + " presence_diff")
            }
        }
    }

    /// A `typing` notice ahead of member `index`'s next message, as a chat app sends while its user types.
    func sendTyping(_ index: Int, on connection: ClientConnection) {
        // Ref "0": its reply, if any, matches no message waiting for one.
        let frame = "[\"1\",\"0\",\(ChannelClient.quoted(topic(index))),\"typing\",{}]"
        if connection.sendText(Array(frame.utf8)) { result.typingSent += 1 }
    }
}
