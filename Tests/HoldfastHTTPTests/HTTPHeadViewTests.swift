import HoldfastHTTP
import Testing

/// The in-place head read: it takes the common upgrade head exactly as the parser does, and declines everything
/// else so the parser answers it.
@Suite struct HTTPHeadViewTests {
    static let upgrade = "GET /socket/websocket?vsn=2.0.0&token=a%20b HTTP/1.1\r\nHost: 127.0.0.1:4000\r\n"
        + "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + "Sec-WebSocket-Version: 13\r\nUser-Agent: \tMozilla/5.0 (X11) \t\r\nX-Obs-Text: caf\u{e9}\r\n"
        + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"

    /// What the in-place read saw (or nil when it declined) and how many bytes it took.
    private func readInPlace(_ text: String, limits: HTTPLimits = HTTPLimits()) -> (seen: String?, consumed: Int?) {
        var seen: String?
        let consumed = Array(text.utf8).withUnsafeBytes { bytes in
            HTTPHeadView.parse(bytes, limits: limits) { head in
                seen = Self.render(head)
                return true
            }
        }
        return (seen, consumed)
    }

    private static func render(_ head: HTTPHeadView) -> String {
        var parts = ["\(head.method) \(head.target) 1.\(head.minorVersion) \(head.path) \(head.query)"]
        parts += head.headers.map { "\($0.name)=\($0.value)" }
        for field in HTTPKnownField.allCases {
            parts.append("\(field) \(head.header(field) ?? "-") \(head.headerValues(field))")
            parts.append("\(head.headerContainsToken(field, "upgrade")) \(head.headerContainsToken(field, "websocket"))")
        }
        return parts.joined(separator: "|")
    }

    /// The parser's request for the same bytes, rendered the same way, and what it consumed.
    private func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) -> (seen: String?, consumed: Int) {
        var parser = HTTPRequestParser(limits: limits)
        let (result, consumed) = Array(text.utf8).withUnsafeBytes { parser.parse($0) }
        guard case .request(let request) = result else { return (nil, consumed) }
        return (request.withHeadView(Self.render), consumed)
    }

    @Test func readsAnUpgradeHeadAsTheParserDoes() {
        let trailing = Self.upgrade + "\u{81}\u{82}"  // frame bytes after the head stay unconsumed
        let inPlace = readInPlace(trailing)
        let parsed = parse(trailing)
        #expect(inPlace.seen != nil)
        #expect(inPlace.seen == parsed.seen)
        #expect(inPlace.consumed == parsed.consumed)
        #expect(inPlace.consumed == Self.upgrade.utf8.count)
    }

    @Test func answersFieldLookupsInPlace() {
        let bytes = Array(Self.upgrade.utf8)
        let taken = bytes.withUnsafeBytes { raw in
            HTTPHeadView.parse(raw, limits: HTTPLimits()) { head in
                #expect(head.hasMethod("GET") && !head.hasMethod("GE"))
                #expect(head.hasPath("/socket/websocket") && !head.hasPath("/socket"))
                #expect(head.query == "vsn=2.0.0&token=a%20b")
                #expect(head.headerContainsToken(.connection, "upgrade"))
                #expect(head.header(.secWebSocketKey) == "dGhlIHNhbXBsZSBub25jZQ==")
                #expect(head.headerValues(.secWebSocketExtensions) == ["permessage-deflate; client_max_window_bits"])
                #expect(!head.hasHeader(.origin))
                return false  // declined: nothing taken
            }
        }
        #expect(taken == nil)
    }

    @Test func declinesWhatTheParserMustAnswer() {
        let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        let declined = [
            "GET /a HTTP/1.1\r\nHost: x\r\n",  // incomplete
            "GET /a HTTP/1.1\nHost: x\n\n",  // bare LF (a leniency)
            "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n",  // an empty line first (a leniency)
            "GET /a HTTP/1.0\r\nHost: x\r\n\r\n",  // HTTP/1.0
            "GET /a HTTP/1.1\r\n\r\n",  // no Host
            "GET /a HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n",  // a repeated Host
            "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab",  // a body
            "GET /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",  // a chunked body
            "GET * HTTP/1.1\r\nHost: x\r\n\r\n",  // not origin-form
            "GET http://x/a HTTP/1.1\r\nHost: x\r\n\r\n",  // absolute-form (the parser's)
            "GET  /a HTTP/1.1\r\nHost: x\r\n\r\n",  // two spaces
            "GET /a HTTP/1.1\r\nHost : x\r\n\r\n",  // space before the colon
            "GET /a HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",  // obsolete line folding
            "GET /a HTTP/1.1\r\nHost: x\r\nX: a\u{0}b\r\n\r\n",  // NUL in a value
            "GET /a HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",  // a bare CR in a value
            "GET /a HTTP/1.1\r\nHost: x\r\nX: a\u{7F}b\r\n\r\n",  // DEL in a value
            "GET /\u{7F} HTTP/1.1\r\nHost: x\r\n\r\n",  // DEL in the target
            "G\u{0}T /a HTTP/1.1\r\nHost: x\r\n\r\n",  // NUL in the method
            "GET /a HTTP/1.1\r\nHost: x\r\n" + key + String(repeating: "X: y\r\n", count: 40) + "\r\n",  // > 32 fields
        ]
        for text in declined {
            #expect(readInPlace(text).consumed == nil, "\(text.debugDescription)")
        }
    }

    @Test func keepsTheLimits() {
        let limits = HTTPLimits(maxRequestLineLength: 20, maxHeaderCount: 2, maxHeaderBytes: 20)
        #expect(readInPlace("GET /abc HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits).consumed != nil)  // 17 bytes
        #expect(readInPlace("GET /abcdefgh HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits).consumed == nil)
        #expect(readInPlace("GET /a HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits).consumed == nil)
        #expect(readInPlace("GET /a HTTP/1.1\r\nHost: x\r\nA: 123456789012\r\n\r\n", limits: limits).consumed == nil)
        #expect(parse("GET /a HTTP/1.1\r\nHost: x\r\nA: 123456789012\r\n\r\n", limits: limits).seen == nil)
    }

    /// Whatever the in-place read takes, the parser reads as the same request from the same bytes.
    private func expectAgreement(_ text: String, taken: Bool? = nil, sourceLocation place: SourceLocation = #_sourceLocation) {
        let inPlace = readInPlace(text)
        if let taken { #expect((inPlace.consumed != nil) == taken, "\(text.debugDescription)", sourceLocation: place) }
        guard inPlace.consumed != nil else { return }
        let parsed = parse(text)
        #expect(inPlace.seen == parsed.seen, "\(text.debugDescription)", sourceLocation: place)
        #expect(inPlace.consumed == parsed.consumed, "\(text.debugDescription)", sourceLocation: place)
    }

    @Test func findsEveryLineEndAndColonAtEveryOffsetOfAWord() {
        // Names and values of 1 to 17 bytes put each colon, CR and LF at every offset of an 8-byte word.
        for nameLength in 1...17 {
            for valueLength in 0...17 {
                let name = String(repeating: "n", count: nameLength)
                let value = String(repeating: "v", count: valueLength)
                let text = "GET /a HTTP/1.1\r\nHost: x\r\n\(name): \(value)\r\nUpgrade: websocket\r\n\r\n"
                expectAgreement(text, taken: true)
                // The head ending exactly at the end of the buffer, and every shorter prefix declined.
                #expect(readInPlace(text).consumed == text.utf8.count)
                let bytes = Array(text.utf8)
                for cut in 0..<bytes.count where cut % 7 == 0 || cut > bytes.count - 4 {
                    #expect(readInPlace(String(decoding: bytes[..<cut], as: UTF8.self)).consumed == nil, "\(cut)")
                }
            }
        }
    }

    @Test func readsKnownNamesInAnyCase() {
        let text = "GET /ws/echo HTTP/1.1\r\nhOsT: a\r\nUPGRADE: WebSocket\r\nconnection: keep-alive, Upgrade\r\n"
            + "SEC-WEBSOCKET-KEY: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\nOrIgIn: http://a\r\n\r\n"
        expectAgreement(text, taken: true)
        let found = Array(text.utf8).withUnsafeBytes { raw in
            HTTPHeadView.parse(raw, limits: HTTPLimits()) { head in
                head.headerContainsToken(.upgrade, "websocket") && head.headerContainsToken(.connection, "upgrade")
                    && head.header(.origin) == "http://a" && head.header(.secWebSocketVersion) == "13"
            }
        }
        #expect(found != nil)
    }

    @Test func declinesBadBytesInNamesAndLineEnds() {
        let declined = [
            "GET /a HTTP/1.1\r\nHost: x\r\nSec\rWebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",  // CR for `-`
            "GET /a HTTP/1.1\r\nHost\r: x\r\n\r\n",  // CR in a name, no LF after it
            "GET /a HTTP/1.1\r\nHost: x\r\r\n\r\n",  // CR without LF at a line's end
            "GET /a HTTP/1.1\r\nHost: x\rUpgrade: websocket\r\n\r\n",  // CR without LF between lines
            "GET /a HTTP/1.1\r\nHost: x\r\nX-Caf\u{e9}: y\r\n\r\n",  // non-ASCII in a name
            "GET /a HTTP/1.1\r\nHost: x\r\nUpgr\u{e1}de: y\r\n\r\n",  // 0xC3 0xA1 in a known name's place
            "GET /a HTTP/1.1\r\nHost: x\r\nX(y): z\r\n\r\n",  // a separator in a name
            "GET /a HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n",  // an empty name
            "GET /a HTTP/1.1\r\nHost: x\r\nNoColonAtAll\r\n\r\n",  // no colon in the line
            "GET /a HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n",  // obsolete folding with a tab
            "GET /a HTTP/1.1\r\nHost: x\r\nUpgrade: web\r\n socket\r\n\r\n",  // folding a known field
            "GE\u{e9} /a HTTP/1.1\r\nHost: x\r\n\r\n",  // non-ASCII in the method
            "GET\t/a HTTP/1.1\r\nHost: x\r\n\r\n",  // a tab after the method
        ]
        for text in declined {
            #expect(readInPlace(text).consumed == nil, "\(text.debugDescription)")
        }
    }

    @Test func takesOtherMethodsAndObsTextAsTheParserDoes() {
        expectAgreement("GETS /a HTTP/1.1\r\nHost: x\r\n\r\n", taken: true)
        expectAgreement("OPTIONS /a HTTP/1.1\r\nHost: x\r\n\r\n", taken: true)
        expectAgreement("get /a HTTP/1.1\r\nHost: x\r\n\r\n", taken: true)
        expectAgreement("GET /a HTTP/1.1\r\nHost: x\r\nX: \u{e9}\u{ff}t\u{e9}\r\n\r\n", taken: true)
        expectAgreement("GET /a HTTP/1.1\r\nHost:x\r\nX:\t \r\nY:  a b  \r\n\r\n", taken: true)
    }
}
