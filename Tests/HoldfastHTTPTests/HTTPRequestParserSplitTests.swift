import HoldfastHTTP
import HoldfastTestSupport
import Testing

/// Incremental input: every split point, byte-at-a-time, and seeded random and mutated inputs compared against
/// parsing in one piece. Parsing must not depend on how the bytes were cut.
@Suite struct HTTPRequestParserSplitTests {
    static let corpus: [String] = [
        "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\r\n",
        "POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world",
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: v\r\n\r\n",
        "\r\nGET / HTTP/1.0\nConnection: keep-alive\n\n",
        "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
            + "GET /c HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n\u{81}\u{85}frame",
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n",
        "GET /" + String(repeating: "x", count: 120) + " HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X-Pad: 0123456789\r\n", count: 12) + "\r\n",
    ]

    /// Small limits so the corpus reaches every limit.
    static let limits = HTTPLimits(maxRequestLineLength: 100, maxHeaderCount: 10, maxHeaderBytes: 200)

    @Test(arguments: corpus)
    func givesTheSameResultWhenSplitAtEveryOffset(text: String) {
        let bytes = Array(text.utf8)
        let whole = feed([bytes], limits: Self.limits)
        for offset in 0...bytes.count {
            let split = feed([Array(bytes[..<offset]), Array(bytes[offset...])], limits: Self.limits)
            #expect(split == whole, "split at \(offset): \(split) vs \(whole)")
        }
    }

    @Test(arguments: corpus)
    func givesTheSameResultFedByteAtATime(text: String) {
        let bytes = Array(text.utf8)
        let whole = feed([bytes], limits: Self.limits)
        let single = feed(bytes.map { [$0] }, limits: Self.limits)
        #expect(single == whole)
    }

    @Test func corpusCoversRequestsAndFailures() {
        let outcomes = Self.corpus.map { feed($0, limits: Self.limits) }
        #expect(outcomes[4].requests.map(\.target) == ["/a", "/b", "/c"])
        // The bytes after the head would go to the WebSocket decoder; this driver keeps parsing them as HTTP.
        #expect(outcomes[5].requests.count == 1)
        #expect(outcomes[6].error == .unsupportedVersion)
        #expect(outcomes[10].error == .bodyTooLarge)
        #expect(outcomes[11].error == .requestLineTooLong)
        #expect(outcomes[12].error == .tooManyHeaders)
    }

    @Test func handlesLargeByteAtATimeBodiesInLinearTime() {
        let body = [UInt8](repeating: UInt8(ascii: "z"), count: 200_000)
        let head = Array("POST / HTTP/1.1\r\nHost: a\r\nX-Long: \(String(repeating: "v", count: 8000))\r\n".utf8)
        let bytes = head + Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
        var parser = HTTPRequestParser()
        var parsed: HTTPRequest?
        // One byte per call and nothing kept by the caller: a quadratic parser would take minutes here.
        for index in bytes.indices {
            let (result, consumed) = bytes[index...index].withUnsafeBytes { parser.parse($0) }
            #expect(consumed == 1)
            if case .request(let request) = result { parsed = request }
        }
        #expect(parsed?.body == body)
    }

    @Test func neverCrashesOnRandomBytes() {
        var random = SplitMix(seed: 0x486F_6C64)
        let alphabet = Array("GETPOST /HTP1.0:\r\n\t ;,chunkedContent-LengthTransfer-Encoding0123456789abcdefxX\0".utf8)
        for _ in 0..<3000 {
            let length = Int.random(in: 0...300, using: &random)
            let bytes: [UInt8] = (0..<length).map { _ in
                Bool.random(using: &random)
                    ? UInt8.random(in: 0...255, using: &random) : alphabet.randomElement(using: &random)!
            }
            checkConsistent(bytes, using: &random)
        }
    }

    @Test func neverCrashesOnMutatedRequests() {
        var random = SplitMix(seed: 0x4661_7374)
        let interesting = Array("\r\n: \t\0;,0-1f".utf8) + [0xFF, 0x7F, 0x80]
        for round in 0..<4000 {
            var bytes = Array(Self.corpus[round % Self.corpus.count].utf8)
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                let position = Int.random(in: 0...bytes.count, using: &random)
                let byte = Bool.random(using: &random)
                    ? interesting.randomElement(using: &random)! : UInt8.random(in: 0...255, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where position < bytes.count: bytes[position] = byte
                case 1 where position < bytes.count: bytes.remove(at: position)
                case 2: bytes.insert(byte, at: position)
                default: bytes.insert(contentsOf: bytes[position...].prefix(8), at: position)
                }
            }
            checkConsistent(bytes, using: &random)
        }
    }

    /// Parses `bytes` whole and cut into random pieces; both must agree, and consumed counts stay in range
    /// (checked inside `feed`).
    private func checkConsistent(_ bytes: [UInt8], using random: inout SplitMix) {
        let whole = feed([bytes], limits: Self.limits)
        var chunks: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + Int.random(in: 1...16, using: &random))
            chunks.append(Array(bytes[start..<end]))
            start = end
        }
        let pieces = feed(chunks, limits: Self.limits)
        #expect(pieces == whole, "\(bytes)")
    }
}
