import HoldfastHTTP
import Testing
@testable import HoldfastWebSocket

/// The handshake over a head read in place answers byte for byte as over a parsed request.
@Suite struct HandshakeInPlaceTests {
    static let head = "GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

    /// The `101` (or the refusal) from the head read in place and from the parser's request for the same bytes.
    private func answers(_ text: String, deflate: PerMessageDeflateConfiguration = PerMessageDeflateConfiguration())
        -> (inPlace: String?, parsed: String?)
    {
        let bytes = Array(text.utf8)
        var inPlace: String?
        _ = bytes.withUnsafeBytes { raw in
            HTTPHeadView.parse(raw, limits: HTTPLimits()) { head in
                switch WebSocketHandshake.agree(to: head, deflate: deflate, selectSubprotocol: { $0.first }) {
                case .success(let agreement):
                    let answer = withUnsafeTemporaryAllocation(byteCount: agreement.responseCapacity, alignment: 1) {
                        Array(UnsafeRawBufferPointer(rebasing: $0[..<agreement.writeResponse(into: $0)]))
                    }
                    inPlace = String(decoding: answer, as: UTF8.self)
                case .failure(let error):
                    inPlace = "refused \(error)"
                }
                return true
            }
        }
        var parser = HTTPRequestParser()
        guard case .request(let request) = bytes.withUnsafeBytes({ parser.parse($0) }).result else { return (inPlace, nil) }
        let parsed = switch WebSocketHandshake.negotiate(request: request, deflate: deflate, selectSubprotocol: { $0.first }) {
        case .success(let accepted): String(decoding: accepted.responseBytes, as: UTF8.self)
        case .failure(let error): "refused \(error)"
        }
        return (inPlace, parsed)
    }

    @Test func theAnswerMatchesTheParsedRequests() {
        let plain = answers(Self.head + "\r\n")
        #expect(plain.inPlace == plain.parsed)
        #expect(plain.inPlace?.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") == true)
        #expect(plain.inPlace?.hasSuffix("\r\n\r\n") == true)
        let negotiated = answers(
            Self.head + "Sec-WebSocket-Protocol: chat, v2\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
        #expect(negotiated.inPlace == negotiated.parsed)
        #expect(negotiated.inPlace?.contains("Sec-WebSocket-Protocol: chat\r\n") == true)
        #expect(negotiated.inPlace?.contains("Sec-WebSocket-Extensions: permessage-deflate") == true)
    }

    @Test func refusalsMatchTheParsedRequests() {
        for text in [
            Self.head.replacing("Upgrade: websocket\r\n", with: "") + "\r\n",
            Self.head.replacing("Version: 13", with: "Version: 8") + "\r\n",
            Self.head.replacing("GET", with: "PUT") + "\r\n",
            Self.head.replacing("ZQ==", with: "ZR==") + "\r\n",
        ] {
            let result = answers(text)
            #expect(result.inPlace != nil && result.inPlace == result.parsed, "\(text.debugDescription)")
            #expect(result.inPlace?.hasPrefix("refused") == true)
        }
    }
}
