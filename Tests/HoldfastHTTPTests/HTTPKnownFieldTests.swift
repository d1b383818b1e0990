import HoldfastHTTP
import Testing

/// The parser's index of known fields must answer exactly as a comparison of every field name would.
@Suite struct HTTPKnownFieldTests {
    /// Every lookup through the index against the same lookup by name.
    private func expectIndexAgreesWithNames(
        _ parsed: HTTPRequest, sourceLocation place: SourceLocation = #_sourceLocation
    ) {
        for field in HTTPKnownField.allCases {
            #expect(parsed.header(field) == parsed.header(field.name), "\(field)", sourceLocation: place)
            #expect(parsed.hasHeader(field) == (parsed.header(field.name) != nil), "\(field)", sourceLocation: place)
            #expect(parsed.headerValues(field) == parsed.headerValues(field.name), "\(field)", sourceLocation: place)
            for token in ["upgrade", "websocket", "close", "keep-alive"] {
                let byIndex: Bool
                switch token {
                case "upgrade": byIndex = parsed.headerContainsToken(field, "upgrade")
                case "websocket": byIndex = parsed.headerContainsToken(field, "websocket")
                case "close": byIndex = parsed.headerContainsToken(field, "close")
                default: byIndex = parsed.headerContainsToken(field, "keep-alive")
                }
                let byName = parsed.headerContainsToken(field.name, token)
                #expect(byIndex == byName, "\(field) \(token)", sourceLocation: place)
            }
        }
    }

    @Test func findsUpgradeFieldsWhateverTheirCase() throws {
        let text = "GET /ws/echo HTTP/1.1\r\nhOsT: a\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, Upgrade\r\n"
            + "SEC-WEBSOCKET-KEY: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n"
            + "Sec-Websocket-Extensions: permessage-deflate; client_max_window_bits\r\nOrigin: http://o\r\n\r\n"
        let parsed = try #require(request(text))
        #expect(parsed.header(.host) == "a")
        #expect(parsed.headerContainsToken(.upgrade, "websocket"))
        #expect(parsed.headerContainsToken(.connection, "upgrade"))
        #expect(parsed.headerBytes(.secWebSocketKey).map { Array($0) } == Array("dGhlIHNhbXBsZSBub25jZQ==".utf8))
        #expect(parsed.header(.secWebSocketVersion) == "13")
        #expect(parsed.headerValues(.secWebSocketExtensions) == ["permessage-deflate; client_max_window_bits"])
        #expect(parsed.header(.origin) == "http://o")
        #expect(!parsed.hasHeader(.secWebSocketProtocol) && parsed.headerValues(.secWebSocketProtocol).isEmpty)
        expectIndexAgreesWithNames(parsed)
    }

    @Test func repeatedFieldsAreAllSearched() throws {
        // The token is only in the second Connection field; the first Upgrade field is the one `header` returns.
        let text = "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nUpgrade: h2c\r\nconnection: Upgrade\r\n"
            + "upgrade: websocket\r\nSec-WebSocket-Protocol: a, b\r\nsec-websocket-protocol: c\r\n\r\n"
        let parsed = try #require(request(text))
        #expect(parsed.headerContainsToken(.connection, "upgrade"))
        #expect(parsed.headerContainsToken(.upgrade, "websocket"))
        #expect(parsed.header(.upgrade) == "h2c")
        #expect(parsed.headerValues(.secWebSocketProtocol) == ["a", "b", "c"])
        expectIndexAgreesWithNames(parsed)
    }

    @Test func namesThatOnlyLookAlikeAreNotKnown() throws {
        // Same lengths as known names, one byte off; and a known name as a prefix of a longer one.
        let text = "GET / HTTP/1.1\r\nHost: a\r\nHosts: b\r\nUpgradE_: c\r\nConnectiom: close\r\n"
            + "Sec-WebSocket-Kez: k\r\nTransfer-Encodinf: chunked\r\nContent-Lengths: 5\r\nOrigi: o\r\n\r\n"
        let parsed = try #require(request(text))
        #expect(parsed.header(.host) == "a")
        #expect(!parsed.hasHeader(.upgrade) && !parsed.hasHeader(.secWebSocketKey) && !parsed.hasHeader(.origin))
        #expect(!parsed.hasHeader(.transferEncoding) && !parsed.hasHeader(.contentLength))
        #expect(parsed.keepAlive && !parsed.hasHeader(.connection))
        #expect(parsed.body.isEmpty)
        expectIndexAgreesWithNames(parsed)
    }

    @Test func framingChecksStillSeeRepeatsAndConflicts() {
        #expect(feed([Array("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n".utf8)]).error == .duplicateHost)
        #expect(feed([Array("GET / HTTP/1.1\r\nX: y\r\n\r\n".utf8)]).error == .missingHost)
        let conflicting = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 4\r\n\r\nabcd"
        #expect(feed([Array(conflicting.utf8)]).error == .conflictingContentLength)
        let both = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nCONTENT-LENGTH: 3\r\n\r\nabc"
        #expect(feed([Array(both.utf8)]).error == .contentLengthWithTransferEncoding)
    }

    @Test func fieldsPastTheIndexedPositionsAreFoundByScanning() throws {
        // Past 255 fields the index stores no position; lookups must still find the field by its name.
        let limits = HTTPLimits(maxHeaderCount: 400, maxHeaderBytes: 64 * 1024)
        var text = "GET / HTTP/1.1\r\n"
        for index in 0..<300 { text += "X-\(index): v\r\n" }
        text += "Host: late\r\nUpgrade: websocket\r\n\r\n"
        let outcome = feed([Array(text.utf8)], limits: limits)
        let parsed = try #require(outcome.requests.first)
        #expect(parsed.header(.host) == "late")
        #expect(parsed.headerContainsToken(.upgrade, "websocket"))
        expectIndexAgreesWithNames(parsed)
    }

    @Test func requestsBuiltFromPartsAreIndexedToo() {
        let built = HTTPRequest(
            method: "GET", target: "/socket/websocket?vsn=2.0.0",
            headers: [("Host", "a"), ("Sec-WebSocket-Version", "13"), ("connection", "Upgrade")])
        #expect(built.header(.secWebSocketVersion) == "13")
        #expect(built.headerContainsToken(.connection, "upgrade"))
        expectIndexAgreesWithNames(built)
    }

    @Test func comparesThePathWithoutTheQuery() throws {
        let parsed = try #require(request("GET /ws/echo?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(parsed.hasPath("/ws/echo"))
        #expect(!parsed.hasPath("/ws/ech"))
        #expect(!parsed.hasPath("/ws/echo?"))
        #expect(!parsed.hasPath("/ws/echo/"))
        let exact = try #require(request("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(exact.hasPath("/healthz") && !exact.hasPath("/healthzz") && !exact.hasPath("/health"))
        let absolute = try #require(request("GET http://h/healthz HTTP/1.1\r\nHost: a\r\n\r\n"))
        #expect(!absolute.hasPath("/healthz"))
    }
}
