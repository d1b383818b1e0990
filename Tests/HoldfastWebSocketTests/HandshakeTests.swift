import HoldfastHTTP
import Testing
@testable import HoldfastWebSocket

@Suite struct HandshakeTests {
    static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

    func request(
        method: String = "GET",
        minorVersion: Int = 1,
        dropping dropped: String? = nil,
        replacing replacement: (String, String)? = nil,
        adding extra: [(String, String)] = []
    ) -> HTTPRequest {
        var headers: [(name: String, value: String)] = [
            ("Host", "example.com"), ("Upgrade", "websocket"), ("Connection", "keep-alive, Upgrade"),
            ("Sec-WebSocket-Key", Self.sampleKey), ("Sec-WebSocket-Version", "13"),
        ]
        if let dropped { headers.removeAll { $0.name == dropped } }
        if let (name, value) = replacement {
            headers.removeAll { $0.name == name }
            headers.append((name, value))
        }
        for (name, value) in extra { headers.append((name, value)) }
        return HTTPRequest(method: method, target: "/socket", minorVersion: minorVersion, headers: headers)
    }

    func negotiate(
        _ request: HTTPRequest,
        deflate: PerMessageDeflateConfiguration = PerMessageDeflateConfiguration()
    ) -> Result<WebSocketHandshakeAccepted, WebSocketHandshakeError> {
        WebSocketHandshake.negotiate(request: request, deflate: deflate, selectSubprotocol: { $0.last })
    }

    func extensionResponse(_ offer: String, configuration: PerMessageDeflateConfiguration = .init()) -> String? {
        guard case .success(let accepted) = negotiate(request(adding: [("Sec-WebSocket-Extensions", offer)]),
                                                      deflate: configuration) else { return "failed" }
        return accepted.deflate?.headerValue
    }

    @Test func computesTheRFCSampleAcceptKey() {
        #expect(WebSocketHandshake.acceptKey(for: Self.sampleKey) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func acceptsAValidUpgradeWithTheCompleteResponse() throws {
        let accepted = try negotiate(request()).get()
        #expect(accepted.acceptKey == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(accepted.subprotocol == nil)
        #expect(accepted.deflate == nil)
        let expected = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
        #expect(String(decoding: accepted.responseBytes, as: UTF8.self) == expected)
    }

    @Test func selectsASubprotocolAndAnnouncesIt() throws {
        let accepted = try negotiate(request(adding: [("Sec-WebSocket-Protocol", "v1.json, v2.json")])).get()
        #expect(accepted.subprotocol == "v2.json")
        #expect(String(decoding: accepted.responseBytes, as: UTF8.self).contains("Sec-WebSocket-Protocol: v2.json\r\n"))
    }

    @Test func rejectsOtherMethodsWith405() {
        let result = negotiate(request(method: "POST"))
        #expect(result.failure == .methodNotAllowed("POST"))
        #expect(result.failure?.status == 405)
        #expect(result.failure?.extraHeaders.first?.0 == "Allow")
    }

    @Test func rejectsHTTP10With400() {
        #expect(negotiate(request(minorVersion: 0)).failure?.status == 400)
    }

    @Test func rejectsAMissingUpgradeHeaderWith400() {
        #expect(negotiate(request(dropping: "Upgrade")).failure == .missingUpgradeHeader)
        #expect(negotiate(request(replacing: ("Upgrade", "h2c"))).failure?.status == 400)
    }

    @Test func rejectsAConnectionHeaderWithoutUpgradeWith400() {
        #expect(negotiate(request(replacing: ("Connection", "keep-alive"))).failure == .missingConnectionUpgrade)
    }

    @Test func rejectsMissingAndMalformedKeysWith400() {
        #expect(negotiate(request(dropping: "Sec-WebSocket-Key")).failure == .missingKey)
        for bad in ["short==", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZR==", "dGhlIHNhbXBsZSBub25j*Q==",
                    "dGhlIHNhbXBsZSBub25jZQ==="] {
            #expect(negotiate(request(replacing: ("Sec-WebSocket-Key", bad))).failure == .invalidKey, "\(bad)")
        }
    }

    @Test func rejectsOtherVersionsWith426AndTheSupportedVersion() {
        let result = negotiate(request(replacing: ("Sec-WebSocket-Version", "8")))
        #expect(result.failure?.status == 426)
        #expect(result.failure?.extraHeaders.contains { $0.0 == "Sec-WebSocket-Version" && $0.1 == "13" } == true)
        #expect(negotiate(request(dropping: "Sec-WebSocket-Version")).failure?.status == 426)
        let text = String(decoding: result.failure?.responseBytes ?? [], as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"))
        #expect(text.contains("Sec-WebSocket-Version: 13\r\n"))
    }

    @Test func acceptsAPlainDeflateOffer() {
        #expect(extensionResponse("permessage-deflate") == "permessage-deflate")
    }

    @Test func acceptsAllParametersAndEchoesWindowBits() {
        let offer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            + "server_max_window_bits=10; client_max_window_bits=12"
        #expect(extensionResponse(offer) == "permessage-deflate; server_no_context_takeover; "
            + "client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12")
    }

    @Test func acceptsClientMaxWindowBitsWithoutValueAndQuotedValues() {
        #expect(extensionResponse("permessage-deflate; client_max_window_bits") == "permessage-deflate")
        #expect(extensionResponse("permessage-deflate; server_max_window_bits=\"11\"")
            == "permessage-deflate; server_max_window_bits=11")
    }

    @Test func announcesTheServersOwnLimits() {
        let configuration = PerMessageDeflateConfiguration(serverMaxWindowBits: 12, serverNoContextTakeover: true)
        #expect(extensionResponse("permessage-deflate", configuration: configuration)
            == "permessage-deflate; server_no_context_takeover; server_max_window_bits=12")
    }

    @Test func declinesBadOffersAndFallsBackToTheNextOne() {
        for bad in ["permessage-deflate; server_max_window_bits=8", "permessage-deflate; unknown",
                    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                    "permessage-deflate; client_max_window_bits=16", "permessage-deflate; server_max_window_bits",
                    "permessage-deflate; server_max_window_bits=010", "permessage-deflate; client_no_context_takeover=1",
                    "x-webkit-deflate-frame"] {
            #expect(extensionResponse(bad) == nil, "\(bad)")
            #expect(extensionResponse(bad + ", permessage-deflate; client_max_window_bits=9")
                == "permessage-deflate; client_max_window_bits=9", "\(bad)")
        }
    }

    @Test func ignoresOffersWhenDeflateIsDisabled() {
        #expect(extensionResponse("permessage-deflate", configuration: .init(enabled: false)) == nil)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
