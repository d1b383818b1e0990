import Testing

@testable import HoldfastCore

/// Presence refs are held by every member of a room in several places; the prefix keeps them short enough for
/// Swift's inline strings.
@Suite struct PresenceRefPrefixTests {
    @Test func aPrefixIsShortAndEndsInADot() {
        for _ in 0..<200 {
            let prefix = PresenceRefPrefix.make()
            #expect(prefix.utf8.count <= PresenceRefPrefix.maxLength)
            #expect(prefix.utf8.count >= 2)
            #expect(prefix.last == ".")
            #expect(prefix.dropLast().allSatisfy { $0.isASCII && ($0.isNumber || $0.isLowercase) })
        }
    }

    @Test func prefixesDifferBetweenCalls() {
        // Nanoseconds move between calls; the mix spreads them over the 48 bits kept.
        let prefixes = Set((0..<100).map { _ in PresenceRefPrefix.make() })
        #expect(prefixes.count > 90)
    }
}
