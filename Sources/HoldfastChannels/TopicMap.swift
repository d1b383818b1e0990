/// A map from topic to value for the handful of topics one socket joins, kept as a small array.
///
/// A socket usually joins one or two topics (at most `ChannelSocketLimits.maxTopics`), and 19,000 sockets each
/// holding two one-entry `Dictionary`s pay about 300 bytes apiece for hash tables; an array of pairs costs a
/// third of that, and a linear search over a few topics is as fast as hashing the key.
public struct TopicMap<Value>: Sequence {
    private var entries: [(topic: String, value: Value)] = []

    /// An empty map.
    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// The topics, in the order they were first added.
    public var keys: [String] { entries.map(\.topic) }
    /// The values, in the order their topics were first added.
    public var values: [Value] { entries.map(\.value) }

    /// The value for `topic`; assigning nil removes it.
    public subscript(topic: String) -> Value? {
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
    @discardableResult
    public mutating func removeValue(forKey topic: String) -> Value? {
        guard let index = entries.firstIndex(where: { $0.topic == topic }) else { return nil }
        return entries.remove(at: index).value
    }

    public mutating func removeAll() { entries = [] }

    public func makeIterator() -> IndexingIterator<[(topic: String, value: Value)]> { entries.makeIterator() }
}

extension TopicMap: Sendable where Value: Sendable {}

extension TopicMap: Equatable where Value: Equatable {
    /// Equal when both hold the same topics with equal values, in any order (as two dictionaries would be).
    public static func == (lhs: TopicMap, rhs: TopicMap) -> Bool {
        lhs.count == rhs.count && lhs.entries.allSatisfy { rhs[$0.topic] == $0.value }
    }
}
