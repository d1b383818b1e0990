/// The keys one owner tracks in a topic, each with its phx_ref.
///
/// Nearly every owner (a socket) tracks one key per topic, so that case is stored inline; a dictionary per
/// owner would cost an allocation and a hash per track in a room of thousands.
enum OwnerKeys: Sendable {
    case one(key: String, ref: String)
    case many([String: String])

    /// The ref tracked under `key`.
    subscript(key: String) -> String? {
        switch self {
        case .one(let only, let ref): return only == key ? ref : nil
        case .many(let refs): return refs[key]
        }
    }

    /// Every tracked ref.
    var refs: [String] {
        switch self {
        case .one(_, let ref): return [ref]
        case .many(let refs): return Array(refs.values)
        }
    }

    /// Tracks `key` under `ref`.
    mutating func set(_ key: String, to ref: String) {
        switch self {
        case .one(let only, _) where only == key:
            self = .one(key: key, ref: ref)
        case .one(let only, let onlyRef):
            self = .many([only: onlyRef, key: ref])
        case .many(var refs):
            // Drop our hold on the dictionary first so the write below does not copy it.
            self = .many([:])
            refs[key] = ref
            self = .many(refs)
        }
    }

    /// Forgets `key`. Returns false when nothing is left (the caller drops the owner).
    mutating func remove(_ key: String) -> Bool {
        switch self {
        case .one(let only, _):
            return only != key
        case .many(var refs):
            self = .many([:])
            refs[key] = nil
            if refs.count == 1, let (only, ref) = refs.first {
                self = .one(key: only, ref: ref)
            } else {
                self = .many(refs)
            }
            return !refs.isEmpty
        }
    }
}
