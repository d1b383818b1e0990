/// Who wrote the room's recent messages, so a channel handler can let only the author edit or delete one.
///
/// Bounded to the newest ``limit`` messages the room stored or replayed since it started; a deleted message is
/// forgotten. Crosses a binary upgrade in the room record and is kept when the room's actor restarts.
public struct MessageAuthors: Sendable, Equatable {
    /// How many messages are remembered.
    public static let limit = 500

    /// Author by message id.
    public private(set) var byID: [Int64: String] = [:]
    /// Ids in the order they were remembered, oldest first (the first to be forgotten).
    public private(set) var order: [Int64] = []

    public init() {}

    /// The entries in the order they were remembered (the handoff record's form).
    public init(entries: [(id: Int64, user: String)]) {
        for entry in entries { remember(entry.id, by: entry.user) }
    }

    /// Every remembered message with its author, oldest first.
    public var entries: [(id: Int64, user: String)] { order.compactMap { id in byID[id].map { (id, $0) } } }

    /// Remembers `id` by `user`; a message remembered already keeps its place.
    public mutating func remember(_ id: Int64, by user: String) {
        guard byID.updateValue(user, forKey: id) == nil else { return }
        order.append(id)
        if order.count > Self.limit { byID.removeValue(forKey: order.removeFirst()) }
    }

    /// Forgets a deleted message.
    public mutating func forget(_ id: Int64) {
        guard byID.removeValue(forKey: id) != nil, let index = order.firstIndex(of: id) else { return }
        order.remove(at: index)
    }

    /// Forgets the messages `ids` (a handoff's record of changes applied to its staged copy): in place, and
    /// without a search when they are the oldest ones, as messages pushed out by newer ones are.
    public mutating func forget(_ ids: Set<Int64>) {
        guard !ids.isEmpty else { return }
        for id in ids { byID.removeValue(forKey: id) }
        let oldest = order.prefix { ids.contains($0) }.count
        if oldest == ids.count { order.removeFirst(oldest) } else { order.removeAll { ids.contains($0) } }
    }

    /// What a history entry changes: a message is remembered, a delete forgets its target.
    mutating func record(_ entry: ChatMessage) {
        switch entry.kind {
        case .message: remember(entry.id, by: entry.user)
        case .delete: forget(entry.target)
        case .edit: break
        }
    }
}
