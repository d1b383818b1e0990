extension PresenceState {
    /// Captures everything, phx_refs, owners, the ref counter and the pending diff included. O(N).
    public func exportState() -> PresenceSnapshot {
        var entries: [PresenceSnapshot.Entry] = []
        entries.reserveCapacity(slotByRef.count)
        for index in order.indices where isLive(index) {
            let (slot, presence) = (order[index], order[index].presence)
            entries.append(Self.entry(presence, ref: slot.ref))
        }
        let pending = changes.map { change in
            PresenceSnapshot.Change(ref: change.ref, before: change.before.map { Self.entry($0, ref: change.ref) })
        }
        return PresenceSnapshot(
            refPrefix: refPrefix, nextRefNumber: nextRefNumber, entries: entries, changes: pending
        )
    }

    /// Recreates a state from ``exportState()`` output; it continues exactly where the exporter stopped: same
    /// `statePayload()`, same next diff, and new refs that collide with none made before.
    ///
    /// A snapshot that breaks the state's rules (built by hand or from damaged bytes) still imports: a later
    /// entry with the ref of an earlier one, or with the same owner and key, replaces it.
    public init(importing snapshot: PresenceSnapshot) {
        self.init(refPrefix: snapshot.refPrefix)
        nextRefNumber = snapshot.nextRefNumber
        for entry in snapshot.entries {
            insertReplacing(
                ref: entry.ref, owner: entry.owner, key: entry.key, fields: entry.fields,
                previousRef: entry.previousRef
            )
        }
        // Loading entries noted them as changes; the pending diff is the snapshot's instead.
        changes.removeAll()
        changeIndex.removeAll()
        for change in snapshot.changes where changeIndex[change.ref] == nil {
            changeIndex[change.ref] = changes.count
            let before = change.before.map { entry in
                Presence(
                    owner: entry.owner, key: entry.key, fields: entry.fields, previousRef: entry.previousRef,
                    sequence: 0
                )
            }
            changes.append(Change(ref: change.ref, before: before))
        }
    }

    /// A presence as a snapshot entry.
    static func entry(_ presence: Presence, ref: String) -> PresenceSnapshot.Entry {
        PresenceSnapshot.Entry(
            owner: presence.owner, key: presence.key, ref: ref, previousRef: presence.previousRef,
            fields: presence.fields
        )
    }
}
