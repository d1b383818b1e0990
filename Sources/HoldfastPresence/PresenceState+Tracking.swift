public import HoldfastJSON

extension PresenceState {
    /// Tracks `meta` for `key` on behalf of `owner` and records a join in the pending diff.
    ///
    /// `meta` should be an object. Any `phx_ref` or `phx_ref_prev` members in it are dropped (the state assigns
    /// them). `null` becomes `{}`; any other non-object is wrapped as `{"value": meta}`, so clients always see
    /// an object. If `owner` already tracks `key`, this is an ``update(owner:key:meta:)`` (Phoenix refuses such
    /// a track; replacing keeps one meta per owner and key, which is what a re-joining channel wants).
    /// - Returns: the new meta's phx_ref.
    public mutating func track(owner: PresenceOwner, key: String, meta: JSONValue) -> String {
        let previous = ref(owner: owner, key: key)
        if let previous { remove(ref: previous) }
        let ref = makeRef()
        insert(ref: ref, owner: owner, key: key, fields: Self.fields(of: meta), previousRef: previous)
        return ref
    }

    /// Tracks `meta` under a phx_ref clients already hold, for rebuilding the state from live sockets after a
    /// restart: clients see no change when `meta`, `key` and `previousRef` match what they have.
    ///
    /// If `owner` already tracks `key` under another ref, that meta is replaced; if `phxRef` is already in use
    /// (by any owner), its meta is replaced. Refs made later never equal `phxRef`.
    /// - Parameters:
    ///   - phxRef: the ref to keep.
    ///   - previousRef: the `phx_ref_prev` to keep, if the meta had one.
    public mutating func track(
        owner: PresenceOwner, key: String, meta: JSONValue, phxRef: String, previousRef: String? = nil
    ) {
        insertReplacing(
            ref: phxRef, owner: owner, key: key, fields: Self.fields(of: meta), previousRef: previousRef
        )
    }

    /// Removes `owner`'s meta for `key` and records a leave.
    /// - Returns: whether anything was removed.
    @discardableResult
    public mutating func untrack(owner: PresenceOwner, key: String) -> Bool {
        guard let ref = ref(owner: owner, key: key) else { return false }
        remove(ref: ref)
        return true
    }

    /// Removes everything `owner` tracked (its socket died or its channel left the topic), recording leaves.
    public mutating func untrackAll(owner: PresenceOwner) {
        if let slot = byOwner[owner] {
            remove(ref: order[Int(slot)].ref)
            return
        }
        guard let refs = byOwnerMany[owner] else { return }
        // Remove in tracking order so the leaves diff lists metas as clients saw them.
        let tracked = refs.values.compactMap { ref in presence(ref).map { (ref, $0.sequence) } }
        for (ref, _) in tracked.sorted(by: { $0.1 < $1.1 }) { remove(ref: ref) }
    }

    /// Replaces `owner`'s meta for `key`: the new meta gets a new phx_ref and `phx_ref_prev` = the old ref.
    /// Records a leave of the old meta and a join of the new one, as Phoenix does. `meta` is treated as in
    /// ``track(owner:key:meta:)``.
    /// - Returns: the new phx_ref, or nil if `owner` did not track `key` (nothing changes then).
    @discardableResult
    public mutating func update(owner: PresenceOwner, key: String, meta: JSONValue) -> String? {
        guard ref(owner: owner, key: key) != nil else { return nil }
        return track(owner: owner, key: key, meta: meta)
    }

    // MARK: - Internals

    /// The next unused ref. The loop only spins when a rebuilt ref happens to collide with our own scheme.
    mutating func makeRef() -> String {
        while true {
            let ref = PresenceRef.make(prefix: refPrefix, number: nextRefNumber)
            nextRefNumber &+= 1
            if slotByRef[ref] == nil { return ref }
        }
    }

    /// Adds a presence under a free ref (the caller removed any holder first) and notes the change.
    mutating func insert(ref: String, owner: PresenceOwner, key: String, fields: [JSONMember], previousRef: String?) {
        noteChange(ref: ref)
        // Metas tracked one after another are often alike (a join burst: one device, one millisecond): they
        // share the previous record's array, one copy for all of them instead of one each. Alike means the same
        // bytes on the wire, not only `==`.
        var fields = fields
        if let previous = order.last?.presence.fields, !previous.isEmpty, previous.encodesLike(fields) {
            fields = previous
        }
        let sequence = nextSequence
        nextSequence += 1
        let slot = Int32(order.count)
        appendSlot(Slot(
            ref: ref,
            presence: Presence(owner: owner, key: key, fields: fields, previousRef: previousRef, sequence: sequence)))
        slotByRef[ref] = slot
        chunkChanged(sequence: sequence)
        noteOwner(owner, tracks: key, under: ref, at: slot)
        metasPerKey[key, default: 0] += 1
    }

    /// Inserts under a given ref, first removing the owner's other meta for the key and whatever holds the ref.
    mutating func insertReplacing(
        ref: String, owner: PresenceOwner, key: String, fields: [JSONMember], previousRef: String?
    ) {
        if let existing = self.ref(owner: owner, key: key), existing != ref { remove(ref: existing) }
        if slotByRef[ref] != nil { remove(ref: ref) }
        insert(ref: ref, owner: owner, key: key, fields: fields, previousRef: previousRef)
    }

    /// Removes the presence under `ref`, if any, and notes the change.
    mutating func remove(ref: String) {
        guard let slot = slotByRef[ref] else { return }
        let presence = order[Int(slot)].presence
        noteChange(ref: ref)
        slotByRef[ref] = nil
        // The stale slot keeps its place (and sequence) until the next compaction, not the meta.
        order[Int(slot)].presence.fields = []
        chunkChanged(sequence: presence.sequence)
        forgetOwner(presence.owner, of: presence.key, ref: ref)
        if let count = metasPerKey[presence.key], count > 1 {
            metasPerKey[presence.key] = count - 1
        } else {
            metasPerKey[presence.key] = nil
        }
        if order.count > 64 && order.count > 2 * slotByRef.count { compactOrder() }
    }

    /// Indexes `ref` (live at `slot`) as `owner`'s meta under `key`, replacing any ref it had there.
    mutating func noteOwner(_ owner: PresenceOwner, tracks key: String, under ref: String, at slot: Int32) {
        if var refs = byOwnerMany[owner] {
            // Drop our hold on the dictionary first so the write below does not copy it.
            byOwnerMany[owner] = nil
            refs[key] = ref
            byOwnerMany[owner] = refs
        } else if let onlySlot = byOwner[owner], onlySlot != slot, isLive(Int(onlySlot)),
            case let only = order[Int(onlySlot)], only.presence.key != key
        {
            byOwner[owner] = nil
            byOwnerMany[owner] = [only.presence.key: only.ref, key: ref]
        } else {
            byOwner[owner] = slot
        }
    }

    /// Forgets `owner`'s meta under `key`, tracked as `ref` (already gone from `slotByRef`).
    mutating func forgetOwner(_ owner: PresenceOwner, of key: String, ref: String) {
        guard var refs = byOwnerMany[owner] else {
            if let slot = byOwner[owner], order[Int(slot)].ref == ref { byOwner[owner] = nil }
            return
        }
        byOwnerMany[owner] = nil
        if refs[key] == ref { refs[key] = nil }
        if refs.count == 1, let only = refs.first, let slot = slotByRef[only.value] {
            byOwner[owner] = slot
        } else if !refs.isEmpty {
            byOwnerMany[owner] = refs
        }
    }

    /// Appends a slot, growing `order` by a quarter when it is full: doubling would leave a 19,000-member room
    /// with room for 32,768 records.
    mutating func appendSlot(_ slot: Slot) {
        if order.count == order.capacity { order.reserveCapacity(order.count + order.count / 4 + 16) }
        order.append(slot)
    }

    /// Records what clients see under `ref` the first time it changes in the current window.
    mutating func noteChange(ref: String) {
        guard changeIndex[ref] == nil else { return }
        changeIndex[ref] = changes.count
        changes.append(Change(ref: ref, before: presence(ref)))
    }

    /// Drops slots whose presence is gone or was re-tracked later, and renumbers the live ones in both indexes.
    /// Amortised O(1) per removal.
    mutating func compactOrder() {
        var kept: [Slot] = []
        kept.reserveCapacity(slotByRef.count + slotByRef.count / 4 + 16)
        for index in order.indices where isLive(index) {
            let slot = order[index]
            let number = Int32(kept.count)
            slotByRef[slot.ref] = number
            if byOwner[slot.presence.owner] != nil { byOwner[slot.presence.owner] = number }
            kept.append(slot)
        }
        order = kept
    }

    /// The members a meta contributes, without the members the state assigns.
    static func fields(of meta: JSONValue) -> [JSONMember] {
        switch meta {
        case .object(let members):
            // Usually nothing to drop: keep the caller's array, so the room's seat and the presence share one
            // copy of every member's meta instead of a filtered copy each.
            guard members.contains(where: { $0.key == "phx_ref" || $0.key == "phx_ref_prev" }) else { return members }
            return members.filter { $0.key != "phx_ref" && $0.key != "phx_ref_prev" }
        case .null:
            return []
        default:
            return [JSONMember("value", meta)]
        }
    }
}
