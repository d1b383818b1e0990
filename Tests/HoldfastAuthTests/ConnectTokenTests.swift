import HoldfastBytes
import Testing

@testable import HoldfastAuth

let secret = Array("holdfast-known-answer-secret-32-bytes!!".utf8)
let issuedAt: Int64 = 1_700_000_000

@Suite struct ConnectTokenTests {
    @Test func aSignedTokenVerifiesToItsUser() throws {
        for user in ["alice", "user:42", "Zoë 🚀", String(repeating: "u", count: ConnectToken.maxUserBytes)] {
            let token = ConnectToken.sign(user: user, issuedAt: issuedAt, ttlSeconds: 3_600, secret: secret)
            #expect(ConnectToken.verify(token[...], secret: secret, now: issuedAt + 10) == .success(user))
            #expect(token.count <= ConnectToken.maxTokenLength)
        }
    }

    @Test func theSignatureMatchesAKnownAnswerFromPython() {
        // python3: hmac.new(secret, b64url(payload).encode(), hashlib.sha256), payload = 1 ‖ >q iat ‖ >q exp ‖ user
        let token = ConnectToken.sign(user: "alice", issuedAt: issuedAt, ttlSeconds: 3_600, secret: secret)
        #expect(token == "AQAAAABlU_EAAAAAAGVT_xBhbGljZQ.AGQvQMz3YdYemX488EjvasFfOBRN3yl_2kiv6YozqnE")
        let mac = ConnectToken.hmacSHA256(
            key: Array("key".utf8), message: Array("The quick brown fox jumps over the lazy dog".utf8))
        #expect(hex(mac) == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test func aTokenExpiresAtItsExpiryTime() {
        let token = ConnectToken.sign(user: "alice", issuedAt: issuedAt, ttlSeconds: 60, secret: secret)
        #expect(ConnectToken.verify(token[...], secret: secret, now: issuedAt + 59) == .success("alice"))
        #expect(ConnectToken.verify(token[...], secret: secret, now: issuedAt + 60) == .failure(.expired))
        #expect(ConnectToken.verify(token[...], secret: secret, now: issuedAt + 86_400) == .failure(.expired))
        let forever = ConnectToken.sign(user: "alice", issuedAt: issuedAt, ttlSeconds: .max, secret: secret)
        #expect(ConnectToken.verify(forever[...], secret: secret, now: .max - 1) == .success("alice"))
    }

    @Test func aTamperedPayloadFailsTheSignatureCheck() {
        let token = ConnectToken.sign(user: "alice", issuedAt: issuedAt, ttlSeconds: 60, secret: secret)
        let signature = token.split(separator: ".")[1]
        let forged = ConnectToken.sign(user: "admin", issuedAt: issuedAt, ttlSeconds: 999_999, secret: secret)
        let swapped = forged.split(separator: ".")[0] + "." + signature
        #expect(ConnectToken.verify(swapped[...], secret: secret, now: issuedAt) == .failure(.badSignature))
        let otherSecret = Array("another-secret-that-is-long-enough-32".utf8)
        #expect(ConnectToken.verify(token[...], secret: otherSecret, now: issuedAt) == .failure(.badSignature))
    }

    @Test func everySingleCharacterChangeIsRefused() {
        let token = Array(ConnectToken.sign(user: "alice", issuedAt: issuedAt, ttlSeconds: 60, secret: secret).utf8)
        let replacements = Array("AB_-.z9=+/ ".utf8)
        for index in token.indices {
            for replacement in replacements where replacement != token[index] {
                var altered = token
                altered[index] = replacement
                let result = ConnectToken.verify(
                    Substring(decoding: altered, as: UTF8.self), secret: secret, now: issuedAt)
                #expect(result == .failure(.badSignature) || result == .failure(.malformed), "index \(index)")
            }
        }
    }

    @Test func anUnknownVersionIsReportedOnceTheSignatureChecksOut() {
        let payload = Base64.encode([2] + [UInt8](repeating: 0, count: 16) + Array("alice".utf8), alphabet: .url)
        let mac = ConnectToken.hmacSHA256(key: secret, message: Array(payload.utf8))
        let token = payload + "." + Base64.encode(mac, alphabet: .url)
        #expect(ConnectToken.verify(token[...], secret: secret, now: issuedAt) == .failure(.unsupportedVersion))
    }

    @Test func signedPayloadsWithTheWrongShapeAreMalformed() {
        let header: [UInt8] = [1] + [UInt8](repeating: 0, count: 8) + [0x7F] + [UInt8](repeating: 0xFF, count: 7)
        for payload in [[], [1], header, header + [0xC3, 0x28], header + [UInt8](repeating: 0x61, count: 257)] {
            let encoded = Base64.encode(payload, alphabet: .url)
            let token =
                encoded + "." + Base64.encode(
                    ConnectToken.hmacSHA256(key: secret, message: Array(encoded.utf8)), alphabet: .url)
            #expect(ConnectToken.verify(token[...], secret: secret, now: issuedAt) == .failure(.malformed))
        }
    }

    @Test func garbageIsMalformedAndNeverCrashes() {
        let valid = ConnectToken.sign(user: "alice", issuedAt: issuedAt, ttlSeconds: 60, secret: secret)
        let samples = [
            "", ".", "..", "abc", "abc.", ".abc", "a.b.c", valid + ".", valid + "=",
            valid.replacingFirstDot(with: ".."),
            "AQAA===.AAAA", "!!!!.????", String(repeating: "A", count: 5_000) + ".AA", "\u{0}.\u{0}", "é.é",
        ]
        for sample in samples {
            #expect(
                ConnectToken.verify(sample[...], secret: secret, now: issuedAt) == .failure(.malformed), "\(sample)")
        }
        #expect(ConnectToken.verify(valid[...], secret: [], now: issuedAt) == .failure(.malformed))

        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCabc019-_.=+/ \u{0}é".unicodeScalars)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0...120, using: &generator)
            var text = String.UnicodeScalarView()
            for _ in 0..<length { text.append(alphabet.randomElement(using: &generator)!) }
            let result = ConnectToken.verify(Substring(String(text)), secret: secret, now: issuedAt)
            #expect(result == .failure(.malformed) || result == .failure(.badSignature))
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = ConnectToken.verify(Substring(decoding: bytes, as: UTF8.self), secret: secret, now: issuedAt)
        }
    }

    @Test func tokenErrorsExplainWhatToDo() {
        #expect(TokenError.expired.description.contains("holdfast token"))
        #expect(TokenError.badSignature.description.contains("HOLDFAST_SECRET_KEY"))
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

extension String {
    fileprivate func replacingFirstDot(with replacement: String) -> String {
        guard let dot = firstIndex(of: ".") else { return self }
        return self[..<dot] + replacement + self[index(after: dot)...]
    }
}
