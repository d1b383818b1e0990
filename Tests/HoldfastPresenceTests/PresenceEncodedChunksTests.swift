import HoldfastBytes
import HoldfastJSON
import HoldfastPresence
import Testing

/// `encodedState()` keeps a large state's encoding in chunks between calls: the joined chunks must equal
/// `encodedStatePayload()` after any change, and a change must re-encode only the chunks holding its metas.
@Suite struct PresenceEncodedChunksTests {
    static func meta(_ text: String) -> JSONValue { .object([JSONMember("device", .string(text))]) }

    static func room(members: Int) -> PresenceState {
        var state = PresenceState(refPrefix: "g1.")
        for owner in 0..<members { _ = state.track(owner: PresenceOwner(owner), key: "u\(owner)", meta: meta("d\(owner)")) }
        _ = state.takeDiff()
        return state
    }

    static func expectWhole(_ state: inout PresenceState, sourceLocation: SourceLocation = #_sourceLocation) -> [SharedBytes] {
        let encoded = state.encodedState()
        #expect(encoded.bytes == state.encodedStatePayload(), sourceLocation: sourceLocation)
        #expect(encoded.chunks.allSatisfy { !$0.bytes.isEmpty }, sourceLocation: sourceLocation)
        return encoded.chunks
    }

    @Test func aLeaveAndARejoinReencodeTheirChunksOnly() {
        var state = Self.room(members: 3000)
        let before = Self.expectWhole(&state)
        #expect(before.count > 20)
        let again = Self.expectWhole(&state)
        #expect(again.count == before.count && zip(again, before).allSatisfy { $0 === $1 })  // nothing changed: the same chunks
        // A rejoin: a leave of one meta in an old chunk, a join at the end of tracking order.
        _ = state.untrack(owner: 1000, key: "u1000")
        _ = state.track(owner: 1000, key: "u1000", meta: Self.meta("again"))
        let after = Self.expectWhole(&state)
        let reused = after.filter { chunk in before.contains { $0 === chunk } }
        #expect(reused.count == before.count - 2)
    }

    @Test func updatesLeavesAndJoinsInManyChunksMatchTheWholeEncoding() {
        var state = Self.room(members: 2500)
        _ = Self.expectWhole(&state)
        for round in 0..<5 {
            for owner in stride(from: round, to: 2500, by: 97) {
                _ = state.update(owner: PresenceOwner(owner), key: "u\(owner)", meta: Self.meta("r\(round)"))
            }
            for owner in stride(from: 50 + round * 7, to: 2500, by: 211) { state.untrackAll(owner: PresenceOwner(owner)) }
            for extra in 0..<30 {
                let owner = 10_000 + round * 100 + extra
                _ = state.track(owner: PresenceOwner(owner), key: "n\(owner)", meta: Self.meta("new"))
            }
            _ = state.takeDiff()
            _ = Self.expectWhole(&state)
        }
    }

    @Test func aKeyWithSeveralMetasIsEncodedWholeUntilItHasOneAgain() {
        var state = Self.room(members: 2000)
        _ = Self.expectWhole(&state)
        // A second device of an early user: its metas are written together at the oldest, in another chunk.
        _ = state.track(owner: 50_000, key: "u3", meta: Self.meta("second"))
        let whole = Self.expectWhole(&state)
        #expect(whole.count == 1)
        let keys = (try? JSON.parse(state.encodedState().bytes))?.objectMembers?.map(\.key)
        #expect(keys?.count == 2000 && keys?[3] == "u3")
        _ = state.untrack(owner: 50_000, key: "u3")
        #expect(Self.expectWhole(&state).count > 10)
    }

    @Test func smallAndEmptyStatesAreEncodedWhole() {
        var empty = PresenceState(refPrefix: "g1.")
        #expect(empty.encodedState().chunks.isEmpty)
        #expect(empty.encodedState().bytes == Array("{}".utf8))
        var small = Self.room(members: 100)
        #expect(Self.expectWhole(&small).count == 1)
    }

    @Test func theThresholdDecidesWhetherChunksAreKept() {
        var state = Self.room(members: 300)
        let whole = state.encodedState(keepingChunksFrom: 0)
        #expect(whole.chunks.count == 1 && whole.bytes == state.encodedStatePayload())
        let kept = state.encodedState(keepingChunksFrom: 200)
        #expect(kept.chunks.count == 3 && kept.bytes == state.encodedStatePayload())
        let again = state.encodedState(keepingChunksFrom: 200).chunks
        #expect(again.count == 3 && zip(again, kept.chunks).allSatisfy { $0 === $1 })
        #expect(state.encodedState(keepingChunksFrom: 301).chunks.count == 1)
    }

    @Test func anImportedStateEncodesTheSame() {
        var state = Self.room(members: 1500)
        _ = Self.expectWhole(&state)
        _ = state.untrack(owner: 7, key: "u7")
        var imported = PresenceState(importing: state.exportState())
        #expect(imported.encodedState().bytes == state.encodedState().bytes)
    }
}
