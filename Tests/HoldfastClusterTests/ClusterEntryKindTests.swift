import HoldfastRedis
import HoldfastRooms
import Testing

@testable import HoldfastCluster

/// Edits and deletes travel like messages, with their kind and target: in the bus envelope the store script
/// publishes and in the Stream entry it adds.
@Suite struct ClusterEntryKindTests {
    func roundTrip(_ message: ChatMessage) -> ChatMessage? {
        let (prefix, suffix) = BusEnvelope.messageParts(message, origin: "n#1")
        guard case .message(let parsed)? = BusEnvelope(prefix + Array("\(message.id)".utf8) + suffix) else {
            return nil
        }
        return parsed
    }

    @Test func theBusEnvelopeCarriesKindAndTarget() {
        let edit = ChatMessage(id: 7, user: "ann", body: "hello", timestamp: 5, clientID: nil, kind: .edit, target: 3)
        let delete = ChatMessage(id: 8, user: "ann", body: "", timestamp: 6, clientID: "c", kind: .delete, target: 3)
        let plain = ChatMessage(id: 9, user: "ann", body: "hi", timestamp: 7, clientID: nil)
        #expect(roundTrip(edit) == edit)
        #expect(roundTrip(delete) == delete)
        #expect(roundTrip(plain) == plain)
        let (_, suffix) = BusEnvelope.messageParts(plain, origin: "n#1")
        #expect(!String(decoding: suffix, as: UTF8.self).contains("target"), "a message carries no entry fields")
    }

    @Test func aStreamEntryReadsBackAsItsKind() {
        func entry(_ fields: [(String, String)]) -> RedisStreamEntry {
            RedisStreamEntry(
                id: RedisStreamID(milliseconds: 0, sequence: 4), fields: fields.map { ($0.0, Array($0.1.utf8)) })
        }
        let base = [("u", "ann"), ("b", "x"), ("t", "9"), ("c", "")]
        #expect(
            ClusterBus.message(entry(base)) == ChatMessage(id: 4, user: "ann", body: "x", timestamp: 9, clientID: nil))
        #expect(
            ClusterBus.message(entry(base + [("k", "1"), ("g", "2")]))
                == ChatMessage(id: 4, user: "ann", body: "x", timestamp: 9, clientID: nil, kind: .edit, target: 2))
        #expect(ClusterBus.message(entry(base + [("k", "9"), ("g", "2")])) == nil, "an unknown kind is not guessed")
    }
}
