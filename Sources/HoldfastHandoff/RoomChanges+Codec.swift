public import HoldfastBytes
public import HoldfastJSON
public import HoldfastRooms

/// A room's members' assigns and messages' authors as its staging record carried them: what the pause's
/// ``HandoffFormat/roomChangesRecord`` is written against (by the old process) and applied to (by the new one).
public struct StagedRoomValues: Sendable, Equatable {
    public var assigns: [UInt64: JSONValue]
    public var authors: MessageAuthors

    /// Values given.
    public init(assigns: [UInt64: JSONValue] = [:], authors: MessageAuthors = MessageAuthors()) {
        self.assigns = assigns
        self.authors = authors
    }

    /// The values a staged room carried.
    public init(_ room: StagedRoom) { self.init(assigns: room.assigns, authors: room.authors) }
}

extension RoomSnapshot {
    /// The record (``HandoffFormat/roomChangesRecord``) with only the assigns and authors that differ from
    /// `staged`: what the new process holds already is not encoded again in the pause. Everything else is as in
    /// the full record, always with its handler and history sections:
    ///
    /// head · handler version, state, timers · changed assigns (member, value or none for cleared), by member ·
    /// edit and delete entries · authors: 0, then the staged ids dropped and the entries added; or 1, then all.
    public func encodeChanges(since staged: StagedRoomValues) -> [UInt8] {
        var out = ByteWriter(capacity: 96 + awaitingState.count * 4)
        encodeHead(kind: HandoffFormat.roomChangesRecord, into: &out)
        let values = handler ?? HandlerValues.none
        out.string(values.version)
        out.data(JSON.encode(values.state))
        encodeTimers(values.timers, into: &out)
        var changed: [(id: UInt64, value: JSONValue?)] = []
        if !assignsAsStaged {  // else no seat moved since staging: none changed
            for (id, value) in values.assigns where staged.assigns[id] != value { changed.append((id, value)) }
            for id in staged.assigns.keys where values.assigns[id] == nil { changed.append((id, nil)) }
        }
        changed.sort { $0.id < $1.id }
        out.unsigned(UInt64(changed.count))
        for change in changed {
            out.unsigned(change.id)
            out.optionalData(change.value.map { JSON.encode($0) })
        }
        encodeKinds(into: &out)
        encodeAuthorChanges(since: staged.authors, into: &out)
        return out.bytes
    }

    /// The authors as staged ids dropped and entries added, when that rebuilds them exactly (a room only adds
    /// authors at the end and drops them anywhere); otherwise all of them.
    private func encodeAuthorChanges(since staged: MessageAuthors, into out: inout ByteWriter) {
        if let (dropped, added) = Self.authorsAppended(since: staged, now: authors) {
            out.byte(0)
            out.unsigned(UInt64(dropped.count))
            for id in dropped { out.signed(id) }
            encodeAuthors(added.compactMap { id in authors.byID[id].map { (id, $0) } }, into: &out)
            return
        }
        var dropped: [Int64] = []
        var kept: [Int64] = []
        for entry in staged.entries {
            if authors.byID[entry.id] == entry.user { kept.append(entry.id) } else { dropped.append(entry.id) }
        }
        let keptIDs = Set(kept)
        let added = authors.entries.filter { !keptIDs.contains($0.id) }
        guard kept + added.map(\.id) == authors.order else {
            out.byte(1)
            encodeAuthors(authors.entries, into: &out)
            return
        }
        out.byte(0)
        out.unsigned(UInt64(dropped.count))
        for id in dropped { out.signed(id) }
        encodeAuthors(added, into: &out)
    }

    /// The usual change of a room's authors since staging, found in one pass: the staged ones with their oldest
    /// dropped and newer ones appended, every kept one by the same user; nil for any other change. Where it
    /// answers, the general comparison above writes the same bytes, at a few lookups per author more.
    static func authorsAppended(
        since staged: MessageAuthors, now: MessageAuthors
    ) -> (dropped: ArraySlice<Int64>, added: ArraySlice<Int64>)? {
        let old = staged.order
        var oldest = 0
        while oldest < old.count, now.byID[old[oldest]] == nil { oldest += 1 }
        let keptCount = old.count - oldest
        guard now.order.count >= keptCount, now.order[..<keptCount].elementsEqual(old[oldest...]) else { return nil }
        for id in old[oldest...] where now.byID[id] != staged.byID[id] { return nil }
        return (old[..<oldest], now.order[keptCount...])
    }

    /// Reads a room record: a full one (``HandoffFormat/roomRecord``, `staged` unused) or one written by
    /// ``encodeChanges(since:)``, whose assigns and authors are `staged` with the changes applied.
    public init(decoding bytes: [UInt8], staged: StagedRoomValues) throws(ByteReadError) {
        try self.init(decoding: bytes, stagedValues: { _ in staged })
    }

    /// Reads a room record, full or of changes; `stagedValues` gives the staged values of the record's topic
    /// (asked at most once; the new process hands over its own copy, so applying the changes copies nothing).
    public init(decoding bytes: [UInt8], stagedValues: (String) -> StagedRoomValues) throws(ByteReadError) {
        guard bytes.first == HandoffFormat.roomChangesRecord else {
            self = try RoomSnapshot(decoding: bytes)
            return
        }
        var input = ByteReader(bytes)
        _ = try input.byte()
        self = try Self.decodeHead(&input)
        var staged = stagedValues(topic)
        let version = try input.string()
        let state = try parseValue(try input.data())
        let timers = try Self.decodeTimers(&input)
        // Taken out of `staged`, so that they are referenced once and change in place.
        var assigns = staged.assigns
        staged.assigns = [:]
        var previous: UInt64?
        for _ in 0..<(try input.count(minimumSize: 2)) {
            let id = try input.unsigned()
            // Sorted and once each, so one record has one meaning.
            guard previous.map({ $0 < id }) ?? true else {
                throw ByteReadError.invalid("assigns of \(topic) out of order")
            }
            previous = id
            assigns[id] = try input.optionalData().map { (bytes) throws(ByteReadError) in try parseValue(bytes) }
        }
        handler = HandlerValues(version: version, state: state, assigns: assigns, timers: timers)
        if handler == HandlerValues.none { handler = nil }
        try decodeKinds(&input)
        switch try input.byte() {
        case 0:
            var dropped = Set<Int64>()
            for _ in 0..<(try input.count()) { dropped.insert(try input.signed()) }
            // The staged copy changed in place: as rebuilding it from the kept entries and the added ones would.
            var changed = staged.authors
            staged.authors = MessageAuthors()
            changed.forget(dropped)
            for entry in try decodeAuthors(&input) { changed.remember(entry.id, by: entry.user) }
            authors = changed
        case 1:
            authors = MessageAuthors(entries: try decodeAuthors(&input))
        case let other:
            throw ByteReadError.invalid("authors of \(topic): form \(other)")
        }
        try input.expectEnd()
    }
}
