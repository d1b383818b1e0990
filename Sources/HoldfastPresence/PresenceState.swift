// HoldfastPresence: who is in a topic, with Phoenix.Presence semantics on a single node.
//
// Lifecycle: the server keeps one `PresenceState` per topic, tracks a meta when a channel asks, untracks when
// the channel leaves (`untrackAll(owner:)` when its socket dies), pushes `statePayload()` to each joiner as
// `presence_state`, and broadcasts `takeDiff()` as `presence_diff` when `PresenceDiffCoalescer` says so.
// Redeploys carry the state as a `PresenceSnapshot` (binary codec), so phx_refs and the pending diff survive
// and clients see no flap; the new process starts a fresh coalescer and reports a change if
// `hasPendingChanges`. After an actor restart that lost the state, the server re-tracks every live socket's
// meta under the ref it had (`track(owner:key:meta:phxRef:previousRef:)`), calls `discardPendingChanges()` and
// pushes `presence_state` to subscribers: phoenix.js reconciles that by phx_ref, so unchanged metas fire no
// join or leave callbacks and metas that vanished during the restart leave.
//
// Errors: none at run time. Non-object metas are wrapped (see `track`); a snapshot that fails to decode throws
// `PresenceSnapshotDecodingError`; a decoded snapshot with conflicting entries imports with later entries
// winning, never trapping.
//
// Performance: track, untrack and update cost O(1) expected (plus the meta's size); `untrackAll` costs
// O(keys the owner tracked); `statePayload()` O(N); `takeDiff()` O(changes since the last take). Nothing is
// cached that an export would leave behind.

import HoldfastBytes
public import HoldfastJSON

/// Identifies who tracked a presence: the connection (socket) id; `untrackAll(owner:)` when the socket dies.
public typealias PresenceOwner = UInt64

/// One topic's presence state: key (such as a user id) → metas, each meta an object with a unique `phx_ref`
/// (and `phx_ref_prev` after an update).
///
/// An owner holds at most one meta per key, as in Phoenix, where one channel process tracks a key once; two
/// devices of one user are two owners and so two metas under the user's key.
public struct PresenceState: Sendable {
    /// One tracked meta.
    struct Presence: Sendable, Equatable {
        var owner: PresenceOwner
        var key: String
        /// The caller's members, without `phx_ref` and `phx_ref_prev` (those are rendered from the refs).
        var fields: [JSONMember]
        var previousRef: String?
        /// Tracking order; equals the `sequence` of the presence's live slot in `order`.
        var sequence: UInt64

        /// Whether clients would render `self` and `other` the same way.
        func looksLike(_ other: Presence) -> Bool {
            key == other.key && fields == other.fields && previousRef == other.previousRef
        }
    }

    /// A ref changed in the current diff window.
    struct Change: Sendable {
        var ref: String
        /// The presence under `ref` when the window opened (what clients have), or nil if they have none.
        var before: Presence?
    }

    /// One tracked meta at its position in tracking order. Slots are never removed one by one: a slot whose
    /// presence is gone (or was replaced under the same ref) stays, stale, until `compactOrder()` drops such
    /// slots in bulk. A slot is live when `slotByRef` points at it.
    struct Slot: Sendable {
        var ref: String
        var presence: Presence
        var sequence: UInt64 { presence.sequence }
    }

    /// The prefix of every ref this state makes.
    public let refPrefix: String
    /// The counter value of the next ref.
    var nextRefNumber: UInt64
    /// The next tracking sequence number.
    var nextSequence: UInt64 = 0

    /// Every presence in tracking order, with stale slots; at most about twice as long as `slotByRef`. One
    /// dense array of records where a hash table of presences (58% full at 19,000) and a separate order of refs
    /// took about 70 bytes more per member; it grows by a quarter at a time (see `appendSlot`).
    var order: [Slot] = []
    /// Live phx_ref → its slot in `order` (20-byte rows).
    var slotByRef: [String: Int32] = [:]
    /// Owner → the slot of its one meta, for the owners that track a single key (nearly all: a socket joins a
    /// topic once); the key is the presence's own. A slot number keeps this table at 12-byte rows.
    var byOwner: [PresenceOwner: Int32] = [:]
    /// Owner → key → phx_ref for the owners that track more than one key (they are not in `byOwner`).
    var byOwnerMany: [PresenceOwner: [String: String]] = [:]
    /// Key → number of live metas (32-bit: a dictionary keeps its values in an array of their own, so 4 bytes less
    /// per slot; a key never has 2^31 metas, one per joined socket).
    var metasPerKey: [String: Int32] = [:]
    /// ``encodedState()``'s chunks by number (tracking sequence / ``metasPerChunk``); a change drops its chunk.
    var encodedChunks: [UInt64: SharedBytes] = [:]

    /// Refs changed since the last `takeDiff()`, in the order they first changed, each with what clients last
    /// saw for it. Comparing that with the live presence at take time coalesces the window.
    var changes: [Change] = []
    /// Ref → index in `changes`.
    var changeIndex: [String: Int] = [:]

    /// Creates an empty state whose refs are `refPrefix` followed by a compact counter.
    ///
    /// - Parameter refPrefix: unique per process generation, so refs never repeat across restarts and handoffs.
    ///   The counter is written in base 62 (`0-9A-Za-z`); give every generation a prefix of the same length, or
    ///   end prefixes with a character outside that alphabet (such as `.`), so no two generations' refs meet.
    public init(refPrefix: String) {
        self.refPrefix = refPrefix
        self.nextRefNumber = 0
    }

    /// The number of keys with at least one meta.
    public var keyCount: Int { metasPerKey.count }

    /// The number of metas across all keys.
    public var metaCount: Int { slotByRef.count }

    /// Whether `owner` has a meta under `key`.
    public func isTracked(owner: PresenceOwner, key: String) -> Bool {
        ref(owner: owner, key: key) != nil
    }

    /// The phx_ref of `owner`'s meta under `key`, if any.
    public func ref(owner: PresenceOwner, key: String) -> String? {
        if let slot = byOwner[owner] {
            let only = order[Int(slot)]
            return only.presence.key == key ? only.ref : nil
        }
        return byOwnerMany[owner]?[key]
    }

    /// The phx_ref and meta (without `phx_ref` and `phx_ref_prev`) of `owner`'s meta under `key`, if any.
    public func meta(owner: PresenceOwner, key: String) -> (ref: String, meta: JSONValue)? {
        guard let ref = ref(owner: owner, key: key), let presence = presence(ref) else { return nil }
        return (ref, .object(presence.fields))
    }

    /// The live presence under `ref`, if any.
    func presence(_ ref: String) -> Presence? {
        guard let slot = slotByRef[ref] else { return nil }
        return order[Int(slot)].presence
    }

    /// Whether `order[index]` is live (not a stale slot).
    func isLive(_ index: Int) -> Bool { slotByRef[order[index].ref] == Int32(index) }

    /// The number of metas under `key` (for a room: the user's joined devices).
    public func metaCount(forKey key: String) -> Int { Int(metasPerKey[key] ?? 0) }

    /// Metas per key, for every key with at least one.
    public var metaCountsByKey: [String: Int] { metasPerKey.mapValues(Int.init) }
}
