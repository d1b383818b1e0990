/// A room's seats by connection id: one dense array of seats (in no particular order) and a connection id → row
/// index of 12-byte rows.
///
/// It replaces a `[UInt64: Seat]` whose 80-byte entries sat in a hash table 49–75% full (about 140 bytes a
/// member at 19,000); the rows here are 64 bytes and the array grows by a quarter at a time. A removal moves the
/// last row into the freed one, so both stay dense. Reads and writes look like a dictionary's; iteration order is
/// unspecified, as a dictionary's is.
public struct SeatTable: Sendable, Equatable, Sequence {
    /// Every seat, dense.
    private(set) var rows: [RoomState.Seat] = []
    /// Connection id → its row in `rows`.
    private var rowByID: [UInt64: Int32] = [:]

    public init() {}

    /// The number of seats.
    public var count: Int { rows.count }

    /// Whether the room has no seats.
    public var isEmpty: Bool { rows.isEmpty }

    /// Every seat, in no particular order.
    public var values: [RoomState.Seat] { rows }

    /// Every seated connection id, in no particular order.
    public var keys: [UInt64] { rows.map(\.connectionID) }

    /// The seat of `connectionID`; setting a seat stores it under its own member's connection id (which must be
    /// `connectionID`), setting nil removes it.
    public subscript(connectionID: UInt64) -> RoomState.Seat? {
        get { rowByID[connectionID].map { rows[Int($0)] } }
        set {
            guard let newValue else {
                removeValue(forKey: connectionID)
                return
            }
            assert(newValue.connectionID == connectionID, "a seat is stored under its own connection id")
            if let row = rowByID[connectionID] {
                rows[Int(row)] = newValue
            } else {
                // Grown by a quarter: doubling would leave a 19,000-member room with room for 32,768 seats.
                if rows.count == rows.capacity { rows.reserveCapacity(rows.count + rows.count / 4 + 16) }
                rowByID[connectionID] = Int32(rows.count)
                rows.append(newValue)
            }
        }
    }

    /// Removes the seat of `connectionID`, if any, and returns it.
    @discardableResult
    public mutating func removeValue(forKey connectionID: UInt64) -> RoomState.Seat? {
        guard let row = rowByID.removeValue(forKey: connectionID).map({ Int($0) }) else { return nil }
        let last = rows.count - 1
        if row != last {
            rows.swapAt(row, last)
            rowByID[rows[row].connectionID] = Int32(row)
        }
        return rows.removeLast()
    }

    /// The non-nil results of `transform` for every seat, by connection id.
    public func compactMapValues<T>(_ transform: (RoomState.Seat) throws -> T?) rethrows -> [UInt64: T] {
        var result: [UInt64: T] = [:]
        for seat in rows {
            if let value = try transform(seat) { result[seat.connectionID] = value }
        }
        return result
    }

    /// Every seat with its connection id, in no particular order.
    public func makeIterator() -> Iterator { Iterator(rows: rows.makeIterator()) }

    /// Iterates the seats with their connection ids, as a dictionary's `(key:value:)` pairs.
    public struct Iterator: IteratorProtocol {
        var rows: IndexingIterator<[RoomState.Seat]>

        public mutating func next() -> (key: UInt64, value: RoomState.Seat)? {
            rows.next().map { (key: $0.connectionID, value: $0) }
        }
    }

    /// The same seats under the same connection ids, in whatever order.
    public static func == (left: SeatTable, right: SeatTable) -> Bool {
        left.count == right.count && left.rows.allSatisfy { right[$0.connectionID] == $0 }
    }
}
