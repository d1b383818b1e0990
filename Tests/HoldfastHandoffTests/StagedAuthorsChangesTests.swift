import HoldfastBytes
import HoldfastHandoff
import HoldfastRooms
import HoldfastTestSupport
import Testing

/// The pause's room record carries a room's message authors as what changed since staging. The usual change (the
/// oldest forgotten, newer ones appended) is found in one pass and applied to the staged copy in place; the bytes
/// and the authors rebuilt must be what the general comparison and a rebuild from the entries give.
@Suite struct StagedAuthorsChangesTests {
    /// The authors section as the general comparison writes it (form 0: dropped ids and added entries, when they
    /// rebuild the authors exactly; else form 1: all of them).
    static func referenceSection(staged: MessageAuthors, now: MessageAuthors) -> [UInt8] {
        var out = ByteWriter()
        var (dropped, kept): ([Int64], [Int64]) = ([], [])
        for entry in staged.entries {
            if now.byID[entry.id] == entry.user { kept.append(entry.id) } else { dropped.append(entry.id) }
        }
        let added = now.entries.filter { !Set(kept).contains($0.id) }
        func write(_ entries: [(id: Int64, user: String)]) {
            out.unsigned(UInt64(entries.count))
            for entry in entries {
                out.signed(entry.id)
                out.string(entry.user)
            }
        }
        if kept + added.map(\.id) == now.order {
            out.byte(0)
            out.unsigned(UInt64(dropped.count))
            for id in dropped { out.signed(id) }
            write(added)
        } else {
            out.byte(1)
            write(now.entries)
        }
        return out.bytes
    }

    /// A room's history after staging: new messages (pushing out the oldest past the limit), now and then a
    /// delete, rarely a message id remembered again by another user.
    static func evolve(_ authors: MessageAuthors, next: inout Int64, steps: Int, rng: inout SplitMix) -> MessageAuthors {
        var authors = authors
        for _ in 0..<steps {
            switch rng.next() % 20 {
            case 0 where !authors.order.isEmpty:
                authors.forget(authors.order[Int(rng.next() % UInt64(authors.order.count))])
            case 1 where !authors.order.isEmpty:
                authors.remember(authors.order[Int(rng.next() % UInt64(authors.order.count))], by: "someone else")
            default:
                next += 1
                authors.remember(next, by: "user\(rng.next() % 7)")
            }
        }
        return authors
    }

    @Test func theChangesAreTheGeneralComparisonsBytesAndRebuildTheAuthors() throws {
        var rng = SplitMix(seed: 17)
        var forms = [0, 0]
        for round in 0..<400 {
            var next: Int64 = 0
            let stagedAuthors = Self.evolve(
                MessageAuthors(), next: &next, steps: Int(rng.next() % 700), rng: &rng)
            let now = Self.evolve(stagedAuthors, next: &next, steps: Int(rng.next() % (round % 3 == 0 ? 600 : 40)), rng: &rng)
            var room = RoomSnapshot(topic: "room:\(round)", lastID: next, presence: nil, awaitingState: [])
            room.authors = now
            let staged = StagedRoomValues(authors: stagedAuthors)
            let changes = room.encodeChanges(since: staged)
            let expected = Self.referenceSection(staged: stagedAuthors, now: now)
            #expect(Array(changes.suffix(expected.count)) == expected, "round \(round)")
            forms[Int(expected[0])] += 1
            let decoded = try RoomSnapshot(decoding: changes, staged: staged)
            #expect(decoded.authors == now, "round \(round)")
            #expect(decoded.authors == MessageAuthors(entries: now.entries), "round \(round)")
        }
        #expect(forms[0] > 100 && forms[1] > 10, "both forms exercised: \(forms)")
    }

    @Test func forgettingSeveralInPlaceIsForgettingEachOne() {
        let authors = MessageAuthors(entries: (1...10).map { (Int64($0), "u\($0)") })
        for ids in [Set<Int64>([1, 2, 3]), [2, 5, 9], [], [11, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]] {
            var together = authors
            together.forget(ids)
            var oneByOne = authors
            for id in ids.sorted() { oneByOne.forget(id) }
            #expect(together == oneByOne, "\(ids)")
            #expect(together.order.allSatisfy { together.byID[$0] != nil } && together.byID.count == together.order.count)
        }
    }
}
