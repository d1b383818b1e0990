import HoldfastBytes
import Testing

@Suite struct Base64Tests {
    @Test func standardBase64MatchesTheRFCVectors() {
        let vectors = [
            "": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
            "foobar": "Zm9vYmFy",
        ]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
        }
    }

    @Test func bothAlphabetsRoundTripEveryLength() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let url = Base64.encode(bytes, alphabet: .url)
            #expect(!url.contains("=") && !url.contains("+") && !url.contains("/"))
            #expect(Base64.decode(url.utf8, alphabet: .url) == bytes)
            let standard = Base64.encode(bytes)
            #expect(standard.utf8.count % 4 == 0)
            #expect(Base64.decode(standard.utf8) == bytes)
        }
    }

    @Test func urlAlphabetUsesDashAndUnderscore() {
        #expect(Base64.encode([0xFB, 0xFF], alphabet: .url) == "-_8")
        #expect(Base64.encode([0xFB, 0xFF]) == "+/8=")
    }

    @Test func nonCanonicalTextIsRejected() {
        #expect(Base64.decode("Zg".utf8, alphabet: .url) == Array("f".utf8))
        #expect(Base64.decode("Zh".utf8, alphabet: .url) == nil)  // stray low bits
        #expect(Base64.decode("Zg==".utf8, alphabet: .url) == nil)  // padding in the url alphabet
        #expect(Base64.decode("Z".utf8, alphabet: .url) == nil)
        #expect(Base64.decode("Zm9v+A".utf8, alphabet: .url) == nil)  // a standard symbol
        #expect(Base64.decode("Zg".utf8) == nil)  // standard text must be padded
        #expect(Base64.decode("Zh==".utf8) == nil)
        #expect(Base64.decode("Z===".utf8) == nil)
        #expect(Base64.decode("Zm9v-A==".utf8) == nil)
        #expect(Base64.decode("Zm 9v".utf8) == nil)
    }

    @Test func symbolValuesBelongToOneAlphabet() {
        #expect(Base64.value(of: UInt8(ascii: "+")) == 62)
        #expect(Base64.value(of: UInt8(ascii: "-")) == nil)
        #expect(Base64.value(of: UInt8(ascii: "-"), alphabet: .url) == 62)
        #expect(Base64.value(of: UInt8(ascii: "=")) == nil)
    }
}
