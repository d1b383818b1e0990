import HoldfastBytes
public import HoldfastJSON

/// Everything a ``PresenceState`` holds, as plain values: what a process handoff, a hot upgrade or an actor
/// restart carries so the next owner of the topic continues with the same phx_refs and the same pending diff.
///
/// Carry it in binary with ``encode(into:)`` and ``init(decoding:)``.
public struct PresenceSnapshot: Sendable, Equatable {
    /// One tracked meta.
    public struct Entry: Sendable, Equatable {
        /// Who tracked it.
        public var owner: PresenceOwner
        /// The presence key, such as a user id.
        public var key: String
        /// Its `phx_ref`.
        public var ref: String
        /// Its `phx_ref_prev`, after an update.
        public var previousRef: String?
        /// The tracked members, without `phx_ref` and `phx_ref_prev`.
        public var fields: [JSONMember]

        /// Creates an entry.
        public init(owner: PresenceOwner, key: String, ref: String, previousRef: String?, fields: [JSONMember]) {
            self.owner = owner
            self.key = key
            self.ref = ref
            self.previousRef = previousRef
            self.fields = fields
        }
    }

    /// A ref changed since the last diff was taken.
    public struct Change: Sendable, Equatable {
        /// The changed ref.
        public var ref: String
        /// What clients last saw under `ref`, or nil if they know no meta under it.
        public var before: Entry?

        /// Creates a change.
        public init(ref: String, before: Entry?) {
            self.ref = ref
            self.before = before
        }
    }

    /// The prefix of refs the state makes.
    public var refPrefix: String
    /// The counter value of the next ref.
    public var nextRefNumber: UInt64
    /// Live metas in tracking order.
    public var entries: [Entry]
    /// The pending diff: changed refs in the order they first changed.
    public var changes: [Change]

    /// Creates a snapshot.
    public init(refPrefix: String, nextRefNumber: UInt64, entries: [Entry], changes: [Change]) {
        self.refPrefix = refPrefix
        self.nextRefNumber = nextRefNumber
        self.entries = entries
        self.changes = changes
    }
}

/// Why bytes did not decode as a ``PresenceSnapshot``.
public enum PresenceSnapshotDecodingError: Error, Sendable, Equatable {
    /// The bytes do not start with the snapshot's magic number.
    case notASnapshot
    /// The snapshot was written by a format version this build does not read.
    case unsupportedVersion(UInt8)
    /// The bytes end inside a value.
    case truncated
    /// A variable-length integer is longer than 64 bits.
    case integerOverflow
    /// A string is not valid UTF-8.
    case invalidUTF8
    /// A tag byte names no known kind of value.
    case invalidTag(UInt8)
    /// JSON values nest deeper than ``PresenceSnapshot/maximumNesting``.
    case nestingTooDeep
    /// Bytes remain after the snapshot.
    case trailingBytes
}

extension PresenceSnapshotDecodingError {
    /// The snapshot's form of a primitive that did not read.
    init(_ error: ByteReadError) {
        switch error {
        case .truncated, .outOfRange: self = .truncated
        case .varintOverflow: self = .integerOverflow
        case .invalidUTF8: self = .invalidUTF8
        case .invalidFlag, .invalid: self = .truncated
        case .trailingBytes: self = .trailingBytes
        }
    }
}
