/// A map from topic to value for the handful of topics one socket joins: the first topic inline, any more in a
/// small array.
///
/// A socket usually joins one topic (at most `ChannelSocketLimits.maxTopics`). 19,000 sockets each holding two
/// one-entry `Dictionary`s paid about 300 bytes apiece for hash tables, and two one-entry arrays still 170 bytes
/// (an allocation each, with its 32-byte header). Inline, the usual single topic costs no allocation at all; a
/// linear search over a few topics is as fast as hashing the key.
///
/// Everything is `@inlinable` (and maps with closures, not key paths): called unspecialized from another module,
/// each `keys` or `values` instantiated its generic key path and tuple metadata at run time, which was half of
/// what a binary upgrade spent per connection.
public struct TopicMap<Value>: Sequence {
    public typealias Element = (topic: String, value: Value)

    /// The first topic added (still present); nil only when the map is empty.
    @usableFromInline var head: Element?
    /// The others, in the order they were first added.
    @usableFromInline var tail: [Element] = []

    /// An empty map.
    @inlinable public init() {}

    @inlinable public var count: Int { head == nil ? 0 : 1 + tail.count }
    @inlinable public var isEmpty: Bool { head == nil }
    /// The topics, in the order they were first added.
    @inlinable public var keys: [String] { map { $0.topic } }
    /// The values, in the order their topics were first added.
    @inlinable public var values: [Value] { map { $0.value } }

    /// The value for `topic`; assigning nil removes it.
    @inlinable public subscript(topic: String) -> Value? {
        get {
            guard let head else { return nil }
            if head.topic == topic { return head.value }
            return tail.first { $0.topic == topic }?.value
        }
        set {
            guard let value = newValue else {
                removeValue(forKey: topic)
                return
            }
            if head == nil {
                head = (topic, value)
            } else if head?.topic == topic {
                head?.value = value
            } else if let index = tail.firstIndex(where: { $0.topic == topic }) {
                tail[index].value = value
            } else {
                tail.append((topic, value))
            }
        }
    }

    /// Removes `topic` and returns its value, if it was there.
    @discardableResult @inlinable
    public mutating func removeValue(forKey topic: String) -> Value? {
        guard let current = head else { return nil }
        if current.topic == topic {
            head = tail.isEmpty ? nil : tail.removeFirst()
            return current.value
        }
        guard let index = tail.firstIndex(where: { $0.topic == topic }) else { return nil }
        return tail.remove(at: index).value
    }

    @inlinable public mutating func removeAll() {
        head = nil
        tail = []
    }

    @inlinable public func makeIterator() -> Iterator { Iterator(map: self) }

    /// The entries in the order their topics were first added.
    public struct Iterator: IteratorProtocol {
        @usableFromInline let map: TopicMap
        @usableFromInline var index = 0

        @inlinable init(map: TopicMap) { self.map = map }

        @inlinable public mutating func next() -> Element? {
            defer { index += 1 }
            if index == 0 { return map.head }
            return index - 1 < map.tail.count ? map.tail[index - 1] : nil
        }
    }
}

extension TopicMap: Sendable where Value: Sendable {}
extension TopicMap.Iterator: Sendable where Value: Sendable {}

extension TopicMap: Equatable where Value: Equatable {
    /// Equal when both hold the same topics with equal values, in any order (as two dictionaries would be).
    @inlinable public static func == (lhs: TopicMap, rhs: TopicMap) -> Bool {
        lhs.count == rhs.count && lhs.allSatisfy { rhs[$0.topic] == $0.value }
    }
}
