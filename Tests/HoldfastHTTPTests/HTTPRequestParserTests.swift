import HoldfastHTTP
import Testing

@Suite struct HTTPRequestParserTests {
    @Test func parsesGetWithHeaders() throws {
        let text = "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n\r\n"
        let parsed = try #require(request(text))
        #expect(parsed.method == "GET")
        #expect(parsed.target == "/socket/websocket?vsn=2.0.0")
        #expect(parsed.path == "/socket/websocket")
        #expect(parsed.query == "vsn=2.0.0")
        #expect(parsed.minorVersion == 1)
        #expect(parsed.headers.count == 4)
        #expect(parsed.header("host") == "example.com")
        #expect(parsed.header("sec-websocket-key") == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(parsed.headerValues("Connection") == ["Upgrade"])
        #expect(parsed.body.isEmpty)
        #expect(parsed.keepAlive)
    }

    @Test func reportsConsumedUpToTheEndOfTheHead() {
        let head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        let frame: [UInt8] = [0x81, 0x85, 1, 2, 3, 4]
        let bytes = Array(head.utf8) + frame
        var parser = HTTPRequestParser()
        let (result, consumed) = bytes.withUnsafeBytes { parser.parse($0) }
        guard case .request = result else {
            Issue.record("expected a request, got \(result)")
            return
        }
        #expect(consumed == head.utf8.count)
        #expect(Array(bytes[consumed...]) == frame)
    }

    @Test func parsesPostWithContentLengthBody() throws {
        let parsed = try #require(request("POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"))
        #expect(parsed.method == "POST")
        #expect(parsed.body == Array("hello world".utf8))
    }

    @Test func acceptsRepeatedIdenticalContentLengths() throws {
        let parsed = try #require(
            request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 003\r\n\r\nabc"))
        #expect(parsed.body == Array("abc".utf8))
    }

    @Test func treatsZeroContentLengthAsEmptyBody() throws {
        let parsed = try #require(request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"))
        #expect(parsed.body.isEmpty)
    }

    @Test func decodesChunkedBodyAndSkipsTrailers() throws {
        let text = "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n1;ext=1\r\n \r\nA \r\n0123456789\r\n0\r\nChecksum: abc\r\n\r\n"
        let parsed = try #require(request(text))
        #expect(parsed.body == Array("hello 0123456789".utf8))
        #expect(parsed.header("Checksum") == nil)
    }

    @Test func acceptsChunkedCaseInsensitively() throws {
        let parsed = try #require(request("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"))
        #expect(parsed.body.isEmpty)
    }

    @Test func appliesHTTP10KeepAliveRules() throws {
        let plain = try #require(request("GET / HTTP/1.0\r\n\r\n"))
        #expect(plain.minorVersion == 0)
        #expect(!plain.keepAlive)
        let kept = try #require(request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"))
        #expect(kept.keepAlive)
        let closed = try #require(request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
        #expect(!closed.keepAlive)
    }

    @Test func findsListTokensIgnoringCaseAndSpacing() throws {
        let parsed = try #require(
            request("GET / HTTP/1.1\r\nHost: a\r\nconnection: keep-alive ,\tUPGRADE\r\nConnection: ,\r\n\r\n"))
        #expect(parsed.headerContainsToken("Connection", "upgrade"))
        #expect(parsed.headerContainsToken("CONNECTION", "Keep-Alive"))
        #expect(!parsed.headerContainsToken("Connection", "upgrades"))
        #expect(!parsed.headerContainsToken("Connection", "keep"))
        #expect(!parsed.headerContainsToken("Connection", ""))
        #expect(!parsed.headerContainsToken("Upgrade", "upgrade"))
        #expect(parsed.keepAlive)
        let closing = try #require(request("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, Close\r\n\r\n"))
        #expect(!closing.keepAlive)
    }

    @Test func doesNotRequireHostForHTTP10() {
        #expect(request("GET / HTTP/1.0\r\n\r\n") != nil)
    }

    @Test func parsesPipelinedRequestsOneAfterTheOther() throws {
        let first = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
        let second = "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
        let third = "GET /c HTTP/1.1\r\nHost: a\r\n\r\n"
        let bytes = Array((first + second + third).utf8)
        var parser = HTTPRequestParser()
        var offset = 0
        var targets: [String] = []
        var consumedCounts: [Int] = []
        while offset < bytes.count {
            let (result, consumed) = bytes[offset...].withUnsafeBytes { parser.parse($0) }
            guard case .request(let parsed) = result else {
                Issue.record("expected a request, got \(result)")
                return
            }
            targets.append(parsed.target)
            consumedCounts.append(consumed)
            offset += consumed
        }
        #expect(targets == ["/a", "/b", "/c"])
        #expect(consumedCounts == [first.utf8.count, second.utf8.count, third.utf8.count])
    }

    @Test func acceptsBareLineFeeds() throws {
        let parsed = try #require(request("POST / HTTP/1.1\nHost: a\nContent-Length: 1\n\nx"))
        #expect(parsed.header("Host") == "a")
        #expect(parsed.body == [UInt8(ascii: "x")])
    }

    @Test func ignoresEmptyLinesBeforeTheRequestLine() throws {
        let parsed = try #require(request("\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(parsed.target == "/")
    }

    @Test func acceptsAbsoluteFormAndAsteriskForOptions() throws {
        #expect(try #require(request("GET http://example.com/x HTTP/1.1\r\nHost: a\r\n\r\n")).target
            == "http://example.com/x")
        #expect(try #require(request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")).target == "*")
    }

    @Test func parsesUnknownMethodsForTheRouterToRefuse() throws {
        #expect(try #require(request("BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n")).method == "BREW")
    }

    @Test func keepsEmptyHeaderValues() throws {
        let parsed = try #require(request("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n"))
        #expect(parsed.header("X-Empty") == "")
    }

    @Test func acceptsHeadersExactlyAtTheLimits() throws {
        let limits = HTTPLimits(maxRequestLineLength: 14, maxHeaderCount: 2, maxHeaderBytes: 16)
        // "GET / HTTP/1.1" is 14 bytes; "Host: a" + "X-Ab: cd" is 7 + 8 = 15 bytes.
        #expect(request("GET / HTTP/1.1\r\nHost: a\r\nX-Ab: cd\r\n\r\n", limits: limits) != nil)
    }

    @Test func staysFailedUntilReset() {
        var parser = HTTPRequestParser()
        let bad = Array("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n".utf8)
        let good = Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8)
        let first = bad.withUnsafeBytes { parser.parse($0) }
        guard case .failed(.malformedHeader) = first.result else {
            Issue.record("expected malformedHeader, got \(first.result)")
            return
        }
        let second = good.withUnsafeBytes { parser.parse($0) }
        guard case .failed(.malformedHeader) = second.result else {
            Issue.record("expected the parser to stay failed, got \(second.result)")
            return
        }
        #expect(second.consumed == 0)
        parser.reset()
        let third = good.withUnsafeBytes { parser.parse($0) }
        guard case .request = third.result else {
            Issue.record("expected a request after reset, got \(third.result)")
            return
        }
    }

    @Test func consumesPartialInputAndResumes() {
        var parser = HTTPRequestParser()
        let part = Array("GET /x HTTP/1.1\r\nHo".utf8)
        let first = part.withUnsafeBytes { parser.parse($0) }
        #expect(first.consumed == part.count)
        #expect(parser.hasPartialRequest)
        let rest = Array("st: a\r\n\r\n".utf8)
        let second = rest.withUnsafeBytes { parser.parse($0) }
        guard case .request(let parsed) = second.result else {
            Issue.record("expected a request, got \(second.result)")
            return
        }
        #expect(parsed.header("Host") == "a")
        #expect(second.consumed == rest.count)
        #expect(!parser.hasPartialRequest)
    }
}

@Suite struct HTTPRequestParserLayoutTests {
    /// One parser lives in every connection, so its inline size is kept in check.
    @Test func keepsTheParserSmall() {
        #expect(MemoryLayout<HTTPRequestParser>.size <= 160)
    }

    @Test func reservesOnlyPartOfALargeDeclaredBodyUpFront() {
        var parser = HTTPRequestParser()
        let head = Array("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n".utf8)
        let (result, consumed) = head.withUnsafeBytes { parser.parse($0) }
        guard case .needMoreInput = result else {
            Issue.record("expected needMoreInput, got \(result)")
            return
        }
        #expect(consumed == head.count)
        #expect(parser.hasPartialRequest)
    }
}
