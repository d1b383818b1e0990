import HoldfastHTTP
import Testing

@Suite struct HTTPRequestParserErrorTests {
    static let badRequests: [(String, HTTPParseError)] = [
        ("GET / HTTP/1.1\r\nHost a\r\n\r\n", .malformedHeader),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", .malformedHeader),
        ("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", .malformedHeader),
        ("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", .malformedHeader),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n  c\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\n Host: a\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\nHost: a\u{01}\r\n\r\n", .invalidCharacter),
        ("GET / HTTP/1.1\r\nHost: a\u{7F}\r\n\r\n", .invalidCharacter),
        ("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", .invalidCharacter),
        ("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", .invalidCharacter),
        ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", .invalidCharacter),
        ("GET / HTTP/1.1\r\n\r\n", .missingHost),
        ("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", .duplicateHost),
        ("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", .duplicateHost),
        ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET /\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET / http/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET / HTTP/one\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}\r\n", .invalidCharacter),
        ("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", .malformedRequestLine),
        ("GET example.com HTTP/1.1\r\nHost: a\r\n\r\n", .invalidTarget),
        ("GET * HTTP/1.1\r\nHost: a\r\n\r\n", .invalidTarget),
        ("GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n", .invalidTarget),
        ("GET ftp://a/b HTTP/1.1\r\nHost: a\r\n\r\n", .invalidTarget),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", .conflictingContentLength),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", .conflictingContentLength),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            .contentLengthWithTransferEncoding
        ),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", .invalidTransferEncoding),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", .invalidChunk),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", .malformedHeader),
    ]

    @Test(arguments: badRequests)
    func rejectsMalformedRequestsWithBadRequest(text: String, expected: HTTPParseError) {
        #expect(failure(text) == expected)
        #expect(expected.status == .badRequest)
    }

    @Test func rejectsOtherVersionsWithVersionNotSupported() {
        for version in ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3"] {
            let error = failure("GET / \(version)\r\nHost: a\r\n\r\n")
            #expect(error == .unsupportedVersion, "\(version)")
            #expect(error?.status == .httpVersionNotSupported)
        }
    }

    @Test func rejectsTransferCodingsOtherThanChunkedWithNotImplemented() {
        for coding in ["gzip", "gzip, chunked", "identity"] {
            let error = failure("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \(coding)\r\n\r\n")
            #expect(error == .unsupportedTransferEncoding, "\(coding)")
            #expect(error?.status == .notImplemented)
        }
    }

    @Test func rejectsLongRequestLineBeforeItsLineEndArrives() {
        let limits = HTTPLimits(maxRequestLineLength: 32)
        let outcome = feed("GET /" + String(repeating: "a", count: 40), limits: limits)
        #expect(outcome.error == .requestLineTooLong)
        #expect(outcome.error?.status == .uriTooLong)
        #expect(failure("GET /" + String(repeating: "a", count: 18) + " HTTP/1.1\r\n", limits: limits) == nil)
        #expect(failure("GET /" + String(repeating: "a", count: 19) + " HTTP/1.1\r\n", limits: limits)
            == .requestLineTooLong)
    }

    @Test func rejectsTooManyHeaderFields() {
        let limits = HTTPLimits(maxHeaderCount: 3)
        let error = failure("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits)
        #expect(error == .tooManyHeaders)
        #expect(error?.status == .requestHeaderFieldsTooLarge)
    }

    @Test func rejectsHeaderBytesPastTheLimitBeforeTheHeadEnds() {
        let limits = HTTPLimits(maxHeaderBytes: 100)
        let outcome = feed("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 200), limits: limits)
        #expect(outcome.error == .headersTooLarge)
        #expect(outcome.error?.status == .requestHeaderFieldsTooLarge)
        let spread = (0..<20).map { "X-\($0): vvvv\r\n" }.joined()
        #expect(failure("GET / HTTP/1.1\r\nHost: a\r\n" + spread + "\r\n", limits: limits) == .headersTooLarge)
    }

    @Test func rejectsTrailersPastTheHeaderLimit() {
        let limits = HTTPLimits(maxHeaderBytes: 40)
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: "
            + String(repeating: "t", count: 50)
        #expect(failure(text, limits: limits) == .headersTooLarge)
    }

    @Test func rejectsDeclaredBodyPastTheLimitBeforeReadingIt() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        let outcome = feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits: limits)
        #expect(outcome.error == .bodyTooLarge)
        #expect(outcome.error?.status == .payloadTooLarge)
        let huge = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n"
        #expect(failure(huge) == .bodyTooLarge)
        #expect(request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", limits: limits) != nil)
    }

    @Test func rejectsChunkedBodyPastTheLimit() {
        let limits = HTTPLimits(maxBodyBytes: 10)
        let head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        #expect(failure(head + "6\r\nabcdef\r\n5\r\n", limits: limits) == .bodyTooLarge)
        #expect(failure(head + "ffffffffffffffffffffffff\r\n") == .bodyTooLarge)
        #expect(request(head + "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n", limits: limits)?.body.count == 10)
        #expect(request(head + "0000000000000000000000000003\r\nabc\r\n0\r\n\r\n")?.body.count == 3)
    }

    @Test func rejectsOverlongChunkSizeLines() {
        let limits = HTTPLimits(maxChunkLineLength: 16)
        let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;"
            + String(repeating: "e", count: 20)
        #expect(failure(text, limits: limits) == .invalidChunk)
    }

    @Test func describesEveryError() {
        let errors: [HTTPParseError] = [.malformedRequestLine, .requestLineTooLong, .bodyTooLarge, .invalidChunk]
        for error in errors { #expect(!error.description.isEmpty) }
    }
}
