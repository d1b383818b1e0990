import HoldfastChannels
import Testing

@Suite struct TopicMapTests {
    @Test func behavesLikeADictionaryOfTopics() {
        var map = TopicMap<Int>()
        #expect(map.isEmpty && map["room:a"] == nil)
        map["room:a"] = 1
        map["room:b"] = 2
        map["room:a"] = 3
        #expect(map.count == 2 && map["room:a"] == 3 && map["room:b"] == 2)
        #expect(map.keys == ["room:a", "room:b"] && map.values == [3, 2])
        #expect(map.removeValue(forKey: "room:a") == 3)
        #expect(map.removeValue(forKey: "room:a") == nil)
        map["room:b"] = nil
        map["room:c"] = nil
        #expect(map.isEmpty)
        map["room:x"] = 9
        #expect(Array(map.map(\.topic)) == ["room:x"])
        map.removeAll()
        #expect(map.isEmpty)
    }

    @Test func equalityIgnoresOrder() {
        var first = TopicMap<String>()
        first["a"] = "1"
        first["b"] = "2"
        var second = TopicMap<String>()
        second["b"] = "2"
        second["a"] = "1"
        #expect(first == second)
        second["a"] = "other"
        #expect(first != second)
        second["a"] = nil
        #expect(first != second)
    }
}
