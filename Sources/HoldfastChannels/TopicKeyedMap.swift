/// A value that carries the topic it is filed under.
public protocol TopicKeyed {
    /// The topic; it does not change while the value is in a ``TopicKeyedMap``.
    var topic: String { get }
}

/// A ``TopicMap`` for values that carry their topic: the first value inline, any more in a small array, and no
/// second copy of each topic.
///
/// A socket in one room holds its one join here without the topic string again beside the value: the session's
/// joins in 16 bytes where a `TopicMap` took 32, its protocol state's channels in 64 where one took 80.
public struct TopicKeyedMap<Value: TopicKeyed> {
    /// The first value added (still present); nil only when the map is empty.
    @usableFromInline var head: Value?
    /// The others, in the order they were first added.
    @usableFromInline var tail: [Value] = []

    /// An empty map.
    @inlinable public init() {}

    @inlinable public var count: Int { head == nil ? 0 : 1 + tail.count }
    @inlinable public var isEmpty: Bool { head == nil }

    /// The topics, in the order they were first added.
    @inlinable public var keys: [String] { values.map { $0.topic } }
    /// The values, in the order their topics were first added.
    @inlinable public var values: [Value] {
        guard let head else { return [] }
        return [head] + tail
    }

    /// The value filed under `topic`; assigning nil removes it, and a value assigned must carry `topic`.
    @inlinable public subscript(topic: String) -> Value? {
        get {
            guard let head else { return nil }
            if head.topic == topic { return head }
            return tail.first { $0.topic == topic }
        }
        set {
            guard let value = newValue else {
                removeValue(forKey: topic)
                return
            }
            precondition(value.topic == topic, "a value is filed under its own topic")
            insert(value)
        }
    }

    /// Files `value` under its topic, replacing the value that topic had.
    @inlinable public mutating func insert(_ value: Value) {
        let topic = value.topic
        if head == nil || head?.topic == topic {
            head = value
        } else if let index = tail.firstIndex(where: { $0.topic == topic }) {
            tail[index] = value
        } else {
            tail.append(value)
        }
    }

    /// Removes the value of `topic` and returns it, if there was one.
    @discardableResult @inlinable
    public mutating func removeValue(forKey topic: String) -> Value? {
        guard let current = head else { return nil }
        if current.topic == topic {
            head = tail.isEmpty ? nil : tail.removeFirst()
            return current
        }
        guard let index = tail.firstIndex(where: { $0.topic == topic }) else { return nil }
        return tail.remove(at: index)
    }

    @inlinable public mutating func removeAll() {
        head = nil
        tail = []
    }
}

extension TopicKeyedMap: Sendable where Value: Sendable {}

extension TopicKeyedMap: Equatable where Value: Equatable {
    /// Equal when both hold the same topics with equal values, in any order (as two dictionaries would be).
    @inlinable public static func == (lhs: TopicKeyedMap, rhs: TopicKeyedMap) -> Bool {
        lhs.count == rhs.count && lhs.values.allSatisfy { rhs[$0.topic] == $0 }
    }
}
