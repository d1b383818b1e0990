import HoldfastJSON
import Testing

/// A repeated value is handed back as the kept one (one buffer for all repeats); anything that would change a byte on
/// the wire is not.
@Suite struct RepeatedJSONSharingTests {
    /// The address of an object's or array's element buffer (nil for anything else).
    private func buffer(_ value: JSONValue) -> UnsafeRawPointer? {
        switch value {
        case .object(let members): members.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        case .array(let elements): elements.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        default: nil
        }
    }

    @Test func aRepeatIsHandedBackAsTheKeptValue() throws {
        var sharing = RepeatedJSONSharing()
        // Each decode has a buffer of its own, as each joiner's frame gives.
        let first = try JSON.parse(#"{"device":"bench"}"#)
        let kept = sharing.share(first)
        #expect(buffer(kept) == buffer(first))
        for _ in 0..<3 {
            let repeated = try JSON.parse(#"{"device":"bench"}"#)
            #expect(buffer(repeated) != buffer(first))
            let shared = sharing.share(repeated)
            #expect(buffer(shared) == buffer(first))
            #expect(JSON.encode(shared) == JSON.encode(repeated))
        }
    }

    @Test func aDifferentValueIsKeptInstead() throws {
        var sharing = RepeatedJSONSharing()
        let web = try JSON.parse(#"{"device":"web"}"#)
        let phone = try JSON.parse(#"{"device":"phone"}"#)
        let firstShared = sharing.share(web)
        let secondShared = sharing.share(phone)
        #expect(buffer(firstShared) == buffer(web) && buffer(secondShared) == buffer(phone))
        // Only the last value is kept: the first one, repeated after another, is handed back as itself.
        let webAgain = try JSON.parse(#"{"device":"web"}"#)
        let thirdShared = sharing.share(webAgain)
        #expect(buffer(thirdShared) == buffer(webAgain))
        let webThird = try JSON.parse(#"{"device":"web"}"#)
        let fourthShared = sharing.share(webThird)
        #expect(buffer(fourthShared) == buffer(webAgain))
    }

    @Test func valuesEqualButEncodedDifferentlyAreNotShared() throws {
        let pairs: [(JSONValue, JSONValue)] = try [
            (
                .object([JSONMember("name", .string("caf\u{E9}"))]),
                .object([JSONMember("name", .string("cafe\u{301}"))])
            ),
            (.array([.double(0.0)]), .array([.double(-0.0)])),
            (JSON.parse(#"{"a":1,"b":2}"#), JSON.parse(#"{"b":2,"a":1}"#)),
        ]
        for (kept, other) in pairs {
            var sharing = RepeatedJSONSharing()
            _ = sharing.share(kept)
            let shared = sharing.share(other)
            #expect(buffer(shared) == buffer(other))
            #expect(JSON.encode(shared) == JSON.encode(other))
        }
    }

    @Test func scalarsAndEmptyContainersPassThroughAndKeepNothing() throws {
        var sharing = RepeatedJSONSharing()
        let kept = try JSON.parse(#"[1,"two",{"three":3}]"#)
        _ = sharing.share(kept)
        for value: JSONValue in [.null, .bool(true), .integer(7), .string("bench"), .emptyObject, .array([])] {
            let shared = sharing.share(value)
            #expect(shared == value)
        }
        // The kept array is still the one handed back for a repeat; a changed one replaces it.
        let repeated = try JSON.parse(#"[1,"two",{"three":3}]"#)
        let sharedRepeat = sharing.share(repeated)
        #expect(buffer(sharedRepeat) == buffer(kept))
        let changed = try JSON.parse(#"[1,"two",{"three":4}]"#)
        let sharedChange = sharing.share(changed)
        #expect(buffer(sharedChange) == buffer(changed))
    }
}
