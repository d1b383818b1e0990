import HoldfastChannels
import HoldfastJSON
import Testing

@testable import HoldfastRooms

/// A room's seats: dense rows found by connection id, as a dictionary would find them.
@Suite struct SeatTableTests {
    private func seat(_ id: UInt64, _ user: String, assigns: JSONValue = .null) -> RoomState.Seat {
        RoomState.Seat(member: Member(connectionID: id, user: user, joinRef: "jr\(id)", version: .v2), assigns: assigns)
    }

    @Test func seatsAreFoundReplacedAndRemovedByConnectionID() {
        var table = SeatTable()
        for id in UInt64(1)...5 { table[id] = seat(id, "user\(id)") }
        #expect(table.count == 5 && table[3]?.user == "user3" && table[3]?.member.joinRef == "jr3" && table[6] == nil)
        // Removing a middle row moves the last one into it: every id still finds its own seat.
        #expect(table.removeValue(forKey: 2)?.user == "user2")
        #expect(table.removeValue(forKey: 2) == nil)
        table[4] = nil
        table[5]?.assigns = .object([JSONMember("n", .integer(5))])
        table[3] = seat(3, "renamed")
        #expect(table.count == 3 && Set(table.keys) == [1, 3, 5] && table[3]?.user == "renamed")
        for (id, seat) in table { #expect(seat.connectionID == id && table[id] == seat) }
        #expect(table[5]?.assigns["n"] == .integer(5) && table[1]?.assigns == .null)
        #expect(
            table.compactMapValues { $0.assigns == .null ? nil : $0.assigns }
                == [5: .object([JSONMember("n", .integer(5))])])
        for id in table.keys { table.removeValue(forKey: id) }
        #expect(table.isEmpty && table[1] == nil && table.values.isEmpty)
    }

    @Test func aSeatsMemberReadsAndWritesItsFields() {
        var seated = seat(7, "ann")
        #expect(seated.member == Member(connectionID: 7, user: "ann", joinRef: "jr7", version: .v2))
        seated.member = Member(connectionID: 7, user: "ann", joinRef: nil, version: .v1)
        #expect(seated.joinRef == nil && seated.version == .v1 && seated.user == "ann")
    }

    @Test func tablesWithTheSameSeatsAreEqualInAnyOrder() {
        var forward = SeatTable()
        var backward = SeatTable()
        for id in UInt64(1)...4 { forward[id] = seat(id, "u\(id)") }
        for id in (UInt64(1)...4).reversed() { backward[id] = seat(id, "u\(id)") }
        #expect(forward == backward)
        backward[2]?.joinRef = "other"
        #expect(forward != backward)
        backward[2] = seat(2, "u2")
        backward[5] = seat(5, "u5")
        #expect(forward != backward)
    }

    @Test func aSeatIsSixtyFourBytesAndALargeRoomsRowsGrowByAQuarter() {
        // The version sits in the assigns' tail padding (a `Member` and the assigns took 72 bytes).
        #expect(MemoryLayout<RoomState.Seat>.stride <= 64)
        var table = SeatTable()
        for id in UInt64(1)...19_000 { table[id] = seat(id, "user\(id)") }
        #expect(table.count == 19_000 && table[12_345]?.user == "user12345")
        // Doubling would have reserved 32,768 rows; a quarter at a time stays within 25%.
        #expect(table.rows.capacity < 19_000 * 5 / 4 + 64)
    }
}
