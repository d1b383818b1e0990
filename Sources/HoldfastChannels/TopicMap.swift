/// A map from topic to value for the handful of topics one socket joins, kept as a small array.
///
/// A socket usually joins one or two topics (at most `ChannelSocketLimits.maxTopics`), and 19,000 sockets each
/// holding two one-entry `Dictionary`s pay about 300 bytes apiece for hash tables; an array of pairs costs a
/// third of that, and a linear search over a few topics is as fast as hashing the key.
///
/// Everything is `@inlinable` (and maps with closures, not key paths): called unspecialized from another module,
/// each `keys` or `values` instantiated its generic key path and tuple metadata at run time, which was half of
/// what a binary upgrade spent per connection.
public struct TopicMap<Value>: Sequence {
    @usableFromInline var entries: [(topic: String, value: Value)] = []

    /// An empty map.
    @inlinable public init() {}

    @inlinable public var count: Int { entries.count }
    @inlinable public var isEmpty: Bool { entries.isEmpty }
    /// The topics, in the order they were first added.
    @inlinable public var keys: [String] { entries.map { $0.topic } }
    /// The values, in the order their topics were first added.
    @inlinable public var values: [Value] { entries.map { $0.value } }

    /// The value for `topic`; assigning nil removes it.
    @inlinable public subscript(topic: String) -> Value? {
        get { entries.first { $0.topic == topic }?.value }
        set {
            let index = entries.firstIndex { $0.topic == topic }
            switch (index, newValue) {
            case (let index?, let value?): entries[index].value = value
            case (nil, let value?): entries.append((topic, value))
            case (let index?, nil): entries.remove(at: index)
            case (nil, nil): break
            }
        }
    }

    /// Removes `topic` and returns its value, if it was there.
    @discardableResult @inlinable
    public mutating func removeValue(forKey topic: String) -> Value? {
        guard let index = entries.firstIndex(where: { $0.topic == topic }) else { return nil }
        return entries.remove(at: index).value
    }

    @inlinable public mutating func removeAll() { entries = [] }

    @inlinable public func makeIterator() -> IndexingIterator<[(topic: String, value: Value)]> {
        entries.makeIterator()
    }
}

extension TopicMap: Sendable where Value: Sendable {}

extension TopicMap: Equatable where Value: Equatable {
    /// Equal when both hold the same topics with equal values, in any order (as two dictionaries would be).
    @inlinable public static func == (lhs: TopicMap, rhs: TopicMap) -> Bool {
        lhs.count == rhs.count && lhs.entries.allSatisfy { rhs[$0.topic] == $0.value }
    }
}
