import HoldfastJSON
import Testing

/// `encodesLike` is what lets one stored value stand for another: it must hold exactly when the bytes match.
@Suite struct JSONEncodesLikeTests {
    private func encodesAlike(_ left: JSONValue, _ right: JSONValue) -> Bool {
        let sameBytes = JSON.encode(left) == JSON.encode(right)
        #expect(left.encodesLike(right) == sameBytes && right.encodesLike(left) == sameBytes)
        return sameBytes
    }

    @Test func equalValuesEncodeAlike() {
        let meta = JSONValue.object([
            JSONMember("device", .string("web")), JSONMember("online_at", .integer(1_700_000_000_000)),
            JSONMember("tags", .array([.bool(true), .null, .double(1.5), .emptyObject])),
        ])
        #expect(encodesAlike(meta, meta))
        #expect(encodesAlike(.null, .null) && encodesAlike(.array([]), .array([])))
    }

    @Test func canonicallyEquivalentStringsAreEqualButDoNotEncodeAlike() {
        let composed = JSONValue.string("caf\u{E9}")
        let decomposed = JSONValue.string("cafe\u{301}")
        #expect(composed == decomposed)
        #expect(!encodesAlike(composed, decomposed))
        let keyed = [JSONMember("caf\u{E9}", .null)]
        #expect(keyed == [JSONMember("cafe\u{301}", .null)] && !keyed.encodesLike([JSONMember("cafe\u{301}", .null)]))
    }

    @Test func zeroAndNegativeZeroAreEqualButDoNotEncodeAlike() {
        #expect(JSONValue.double(0.0) == .double(-0.0))
        #expect(!encodesAlike(.object([JSONMember("x", .double(0.0))]), .object([JSONMember("x", .double(-0.0))])))
    }

    @Test func differentShapesValuesAndOrdersDoNotEncodeAlike() {
        let ab = JSONValue.object([JSONMember("a", .integer(1)), JSONMember("b", .integer(2))])
        #expect(!encodesAlike(ab, .object([JSONMember("b", .integer(2)), JSONMember("a", .integer(1))])))
        #expect(!encodesAlike(ab, .object([JSONMember("a", .integer(1))])))
        #expect(!encodesAlike(.integer(1), .double(1.0)))
        #expect(!encodesAlike(.array([.integer(1)]), .array([.integer(2)])))
        #expect(!encodesAlike(.bool(true), .string("true")))
    }
}
