/// Byte classes of the HTTP grammar (RFC 9110 §5.6), on raw bytes so the parser never builds strings to validate.
extension UInt8 {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let space: UInt8 = 0x20
    static let tab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let slash: UInt8 = 0x2F
    static let asterisk: UInt8 = 0x2A

    /// Whether the byte is a `tchar`: the characters of methods, header names and transfer codings.
    var isTokenCharacter: Bool {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// Whether the byte may appear in a field value: HT, SP, visible ASCII and obs-text, but no other control.
    var isFieldValueCharacter: Bool {
        self == .tab || (self >= 0x20 && self != 0x7F)
    }

    /// Whether the byte is SP or HT (optional whitespace).
    var isWhitespace: Bool {
        self == .space || self == .tab
    }

    /// The value of a hexadecimal digit, or nil.
    var hexValue: Int? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(self - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(self - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(self - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}

extension Collection<UInt8> {
    /// Whether the collection is a non-empty token.
    var isToken: Bool {
        !isEmpty && allSatisfy(\.isTokenCharacter)
    }

    /// Whether the bytes equal `other` ignoring ASCII case.
    func equalsCaseInsensitive(_ other: some Collection<UInt8>) -> Bool {
        count == other.count && zip(self, other).allSatisfy { $0.asciiLowercased == $1.asciiLowercased }
    }
}

extension UInt8 {
    /// The byte with ASCII `A`-`Z` mapped to `a`-`z`.
    var asciiLowercased: UInt8 {
        self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z") ? self | 0x20 : self
    }
}

extension Int {
    /// `self * base + digit`, or nil on overflow; sizes come from the peer, so they must not trap.
    func appendingDigit(_ digit: Int, base: Int) -> Int? {
        let (product, productOverflow) = multipliedReportingOverflow(by: base)
        let (sum, sumOverflow) = product.addingReportingOverflow(digit)
        return productOverflow || sumOverflow ? nil : sum
    }
}

extension StringProtocol {
    /// Whether the string equals `other` ignoring ASCII case, without allocating lowercased copies.
    func equalsCaseInsensitive(_ other: some StringProtocol) -> Bool {
        let mine = utf8
        let theirs = other.utf8
        guard mine.count == theirs.count else { return false }
        // Native strings are contiguous UTF-8: compare their bytes directly, not through the views' iterators,
        // which cost several times more per byte (header lookups run this for every upgrade).
        let contiguous = mine.withContiguousStorageIfAvailable { mine in
            theirs.withContiguousStorageIfAvailable { theirs in mine.equalsIgnoringASCIICase(theirs) }
        }
        if let contiguous, let result = contiguous { return result }
        return mine.equalsCaseInsensitive(theirs)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether the bytes equal `other` ignoring ASCII case.
    func equalsIgnoringASCIICase(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        guard count == other.count else { return false }
        guard count > 0 else { return true }
        return HTTPByteScan.equalIgnoringASCIICase(baseAddress!, other.baseAddress!, count: count)
    }

    /// Whether one of the comma-separated elements of these bytes, without the spaces and tabs around it, is
    /// `token` ignoring ASCII case; empty elements never match.
    func listContains(token: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !token.isEmpty else { return false }
        // The usual value is the token alone (`Upgrade: websocket`, `Connection: Upgrade`).
        if count == token.count && equalsIgnoringASCIICase(token) { return true }
        var start = 0
        while start < count {
            var end = start
            while end < count && self[end] != UInt8(ascii: ",") { end += 1 }
            var low = start
            var high = end
            while low < high && self[low].isWhitespace { low += 1 }
            while high > low && self[high - 1].isWhitespace { high -= 1 }
            let element = UnsafeBufferPointer(rebasing: self[low..<high])
            if element.count == token.count, element.equalsIgnoringASCIICase(token) { return true }
            start = end + 1
        }
        return false
    }
}
