import HoldfastJSON
import HoldfastPresence
import Testing

@Suite struct PresenceSnapshotTests {
    /// A state with updates, leaves and a pending diff.
    private func busyState() -> PresenceState {
        var state = PresenceState(refPrefix: "g1.")
        let rich = object(
            ("device", .string("phone")), ("since", .integer(-1_700_000_000_000)), ("score", .double(0.25)),
            ("away", .bool(false)), ("tags", .array([.string("a"), .null, .bool(true)])),
            ("nested", object(("deep", object(("x", .string("ü ✓"))))))
        )
        _ = state.track(owner: 1, key: "alice", meta: rich)
        _ = state.track(owner: 2, key: "alice", meta: device("laptop"))
        _ = state.track(owner: 3, key: "bob", meta: device("phone"))
        _ = state.takeDiff()
        _ = state.update(owner: 2, key: "alice", meta: device("tablet"))
        state.untrack(owner: 3, key: "bob")
        _ = state.track(owner: 4, key: "carol", meta: .null)
        return state
    }

    @Test func aBinaryRoundTripPreservesStateAndPendingDiff() throws {
        var original = busyState()
        let snapshot = original.exportState()
        let decoded = try PresenceSnapshot(decoding: snapshot.encoded)
        #expect(decoded == snapshot)

        var imported = PresenceState(importing: decoded)
        #expect(imported.statePayload() == original.statePayload())
        #expect(imported.keyCount == original.keyCount)
        #expect(imported.metaCount == original.metaCount)
        #expect(imported.exportState() == snapshot)
        let expectedDiff = original.takeDiff()
        #expect(expectedDiff != nil)
        #expect(imported.takeDiff() == expectedDiff)

        // Refs continue without collision and owners still work.
        let next = imported.track(owner: 5, key: "dave", meta: .null)
        #expect(next == original.track(owner: 5, key: "dave", meta: .null))
        #expect(!snapshot.entries.contains { $0.ref == next })
        let removed = imported.untrack(owner: 1, key: "alice")
        #expect(removed)
        imported.untrackAll(owner: 2)
        #expect(imported.keyCount == 2)
    }

    @Test func tenThousandEntriesEncodeAndDecode() throws {
        var state = PresenceState(refPrefix: "node-a.")
        for index in 0..<10_000 {
            _ = state.track(
                owner: UInt64(index), key: "user\(index)",
                meta: object(("device", .string("phone")), ("online_at", .integer(1_700_000_000_000 + Int64(index))))
            )
        }
        let snapshot = state.exportState()
        var bytes: [UInt8] = []
        snapshot.encode(into: &bytes)
        // About 57 bytes per entry plus 11 per pending join.
        #expect(bytes.count < 10_000 * 80)
        let decoded = try PresenceSnapshot(decoding: bytes)
        #expect(decoded == snapshot)
        #expect(decoded.entries.count == 10_000)
        #expect(decoded.changes.count == 10_000)
    }

    @Test func damagedBytesThrowInsteadOfTrapping() {
        let bytes = busyState().exportState().encoded
        for length in 0..<bytes.count {
            #expect(throws: PresenceSnapshotDecodingError.self) {
                try PresenceSnapshot(decoding: Array(bytes[..<length]))
            }
        }
        #expect(throws: PresenceSnapshotDecodingError.trailingBytes) { try PresenceSnapshot(decoding: bytes + [0]) }
        var wrongVersion = bytes
        wrongVersion[4] = 9
        #expect(throws: PresenceSnapshotDecodingError.unsupportedVersion(9)) {
            try PresenceSnapshot(decoding: wrongVersion)
        }
        #expect(throws: PresenceSnapshotDecodingError.notASnapshot) {
            try PresenceSnapshot(decoding: Array("JSON!".utf8))
        }
        // Flip every byte in turn: each result either decodes or throws.
        for index in bytes.indices {
            var flipped = bytes
            flipped[index] ^= 0xFF
            if let snapshot = try? PresenceSnapshot(decoding: flipped) { _ = PresenceState(importing: snapshot) }
        }
    }

    @Test func conflictingEntriesImportWithTheLaterWinning() {
        let entry = { (owner: PresenceOwner, key: String, ref: String) in
            PresenceSnapshot.Entry(owner: owner, key: key, ref: ref, previousRef: nil, fields: [])
        }
        let snapshot = PresenceSnapshot(
            refPrefix: "g2.", nextRefNumber: 0,
            entries: [entry(1, "a", "x"), entry(1, "a", "y"), entry(2, "b", "y")], changes: []
        )
        var state = PresenceState(importing: snapshot)
        #expect(state.metaCount == 1)
        #expect(state.statePayload() == object(("b", metas(object(("phx_ref", .string("y")))))))
        #expect(state.takeDiff() == nil)
    }
}
