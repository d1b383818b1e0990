import HoldfastChannels
import Testing

/// A value that carries its topic, as a room member or a joined channel does.
private struct Filed: TopicKeyed, Equatable {
    var topic: String
    var value: Int
}

@Suite struct TopicKeyedMapTests {
    @Test func behavesLikeADictionaryOfTopics() {
        var map = TopicKeyedMap<Filed>()
        #expect(map.isEmpty && map["room:a"] == nil && map.values.isEmpty)
        map.insert(Filed(topic: "room:a", value: 1))
        map["room:b"] = Filed(topic: "room:b", value: 2)
        map.insert(Filed(topic: "room:c", value: 4))
        map.insert(Filed(topic: "room:a", value: 3))
        #expect(map.count == 3 && map["room:a"]?.value == 3 && map["room:b"]?.value == 2)
        #expect(map.keys == ["room:a", "room:b", "room:c"] && map.values.map(\.value) == [3, 2, 4])
        map.insert(Filed(topic: "room:b", value: 5))
        #expect(map.values.map(\.value) == [3, 5, 4], "a replaced value keeps its place")
        #expect(map.removeValue(forKey: "room:a")?.value == 3)
        #expect(map.removeValue(forKey: "room:a") == nil)
        #expect(map.keys == ["room:b", "room:c"], "the next topic moves up when the first leaves")
        map["room:b"] = nil
        map["room:x"] = nil
        #expect(map.keys == ["room:c"])
        map.removeAll()
        #expect(map.isEmpty && map.count == 0)
    }

    @Test func equalityIgnoresOrder() {
        var first = TopicKeyedMap<Filed>()
        first.insert(Filed(topic: "a", value: 1))
        first.insert(Filed(topic: "b", value: 2))
        var second = TopicKeyedMap<Filed>()
        second.insert(Filed(topic: "b", value: 2))
        second.insert(Filed(topic: "a", value: 1))
        #expect(first == second)
        second.insert(Filed(topic: "a", value: 7))
        #expect(first != second)
        second["a"] = nil
        #expect(first != second)
    }

    @Test func holdsOneValueWithoutItsTopicAgain() {
        // Two words for a socket's usual single join (a class reference inline, an empty array), where a `TopicMap`
        // also kept the topic string (16 bytes more).
        final class Member: TopicKeyed {
            let topic: String
            init(topic: String) { self.topic = topic }
        }
        #expect(MemoryLayout<TopicKeyedMap<Member>>.size == 16)
        #expect(MemoryLayout<TopicMap<Member>>.size == 32)
    }
}
