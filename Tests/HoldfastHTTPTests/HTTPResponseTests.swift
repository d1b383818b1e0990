import HoldfastHTTP
import Testing

@Suite struct HTTPResponseTests {
    private func text(_ response: HTTPResponse, keepAlive: Bool) -> String {
        String(decoding: response.serialized(keepAlive: keepAlive), as: UTF8.self)
    }

    @Test func serializesStatusHeadersContentLengthAndBody() {
        let response = HTTPResponse(
            status: .ok, headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        #expect(text(response, keepAlive: true)
            == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    }

    @Test func addsConnectionCloseWhenNotKeepingAlive() {
        #expect(text(HTTPResponse(status: .notFound), keepAlive: false)
            == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    @Test func omitsContentLengthForSwitchingProtocols() {
        let response = HTTPResponse(
            status: .switchingProtocols,
            headers: [
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            ])
        #expect(text(response, keepAlive: true)
            == "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    }

    @Test func omitsContentLengthAndBodyForNoContent() {
        let response = HTTPResponse(status: .noContent, body: [1, 2, 3])
        #expect(text(response, keepAlive: true) == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test func keepsAnExplicitContentLength() {
        let response = HTTPResponse(status: .ok, headers: [("content-length", "5")], body: Array("hello".utf8))
        #expect(text(response, keepAlive: true) == "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello")
    }

    @Test func writesPlainTextErrors() {
        let response = HTTPResponse.plainText(.methodNotAllowed, "Method Not Allowed", extraHeaders: [("Allow", "GET")])
        #expect(text(response, keepAlive: false)
            == "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nAllow: GET\r\n"
            + "Content-Length: 19\r\nConnection: close\r\n\r\nMethod Not Allowed\n")
        #expect(HTTPResponse.parseFailure(.headersTooLarge).status == .requestHeaderFieldsTooLarge)
        #expect(HTTPResponse.plainText(.serviceUnavailable).body == Array("Service Unavailable\n".utf8))
    }

    @Test func neutralizesLineBreaksInHeaderValues() {
        let response = HTTPResponse(status: .ok, headers: [("X-Echo", "a\r\nSet-Cookie: evil")])
        #expect(text(response, keepAlive: true)
            == "HTTP/1.1 200 OK\r\nX-Echo: a  Set-Cookie: evil\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func appendsToExistingOutput() {
        var output = Array("prefix".utf8)
        HTTPResponse(status: .ok).serialize(keepAlive: true, into: &output)
        #expect(String(decoding: output, as: UTF8.self) == "prefixHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    }

    @Test func namesEveryStatusItOffers() {
        let statuses: [HTTPStatus] = [
            .ok, .switchingProtocols, .noContent, .badRequest, .unauthorized, .forbidden, .notFound,
            .methodNotAllowed, .requestTimeout, .conflict, .lengthRequired, .payloadTooLarge, .uriTooLong,
            .upgradeRequired, .requestHeaderFieldsTooLarge, .internalServerError, .notImplemented,
            .serviceUnavailable, .httpVersionNotSupported,
        ]
        for status in statuses { #expect(!status.reasonPhrase.hasPrefix("Status"), "\(status.rawValue)") }
        #expect(HTTPStatus(rawValue: 418).description == "418 Status 418")
        #expect(HTTPStatus.uriTooLong.description == "414 URI Too Long")
    }
}
