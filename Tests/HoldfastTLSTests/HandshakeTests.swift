import COpenSSL
import HoldfastTestSupport
@testable import HoldfastTLS
import Testing

/// One client configuration per suite the record layer supports.
struct SuiteCase: Sendable, CustomTestStringConvertible {
    let tls13Suite: String?
    let tls12Cipher: String?
    let expectedName: String

    var testDescription: String { expectedName }

    func makeClient(alpn: [String] = [], maxFragmentCode: UInt8 = 0) -> TestClient {
        TestClient(tls13Suite: tls13Suite, tls12Cipher: tls12Cipher, alpn: alpn, maxFragmentCode: maxFragmentCode)
    }

    static let tls13 = [
        SuiteCase(tls13Suite: "TLS_AES_128_GCM_SHA256", tls12Cipher: nil, expectedName: "TLS_AES_128_GCM_SHA256"),
        SuiteCase(tls13Suite: "TLS_AES_256_GCM_SHA384", tls12Cipher: nil, expectedName: "TLS_AES_256_GCM_SHA384"),
        SuiteCase(tls13Suite: "TLS_CHACHA20_POLY1305_SHA256", tls12Cipher: nil,
                  expectedName: "TLS_CHACHA20_POLY1305_SHA256"),
    ]
    static let tls12 = [
        SuiteCase(tls13Suite: nil, tls12Cipher: "ECDHE-ECDSA-AES128-GCM-SHA256",
                  expectedName: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        SuiteCase(tls13Suite: nil, tls12Cipher: "ECDHE-ECDSA-AES256-GCM-SHA384",
                  expectedName: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
        SuiteCase(tls13Suite: nil, tls12Cipher: "ECDHE-ECDSA-CHACHA20-POLY1305",
                  expectedName: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ]
    static let all = tls13 + tls12
}

/// Sends `size` bytes each way and checks both sides got exactly them.
func exchange(_ connection: inout TestConnection, size: Int, seed: UInt64) {
    var random = SplitMix(seed: seed)
    let up = random.bytes(size)
    #expect(connection.clientSends(up).plaintext == up)
    let down = random.bytes(size)
    #expect(connection.serverSends(down) == down)
}

@Test(arguments: SuiteCase.all)
func handshakeThenDataFlowsBothWays(_ suite: SuiteCase) throws {
    var connection = try TestConnection.establish(client: suite.makeClient(alpn: ["h2", "http/1.1"]))
    #expect(connection.server.cipherSuiteName == suite.expectedName)
    #expect(connection.server.version == (suite.tls13Suite == nil ? .v1_2 : .v1_3))
    #expect(connection.alpn == "http/1.1")
    exchange(&connection, size: 5, seed: 1)
    exchange(&connection, size: 40_000, seed: 2)
    exchange(&connection, size: 1, seed: 3)
}

@Test(arguments: SuiteCase.tls13)
func applicationDataInTheSameFlightAsFinishedReachesTheRecordLayer(_ suite: SuiteCase) throws {
    let first = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
    var connection = try TestConnection.establish(client: suite.makeClient(), firstData: first)
    #expect(!connection.serverInput.isEmpty, "the record after Finished is left for the record layer")
    #expect(connection.deliver([]).plaintext == first)
    exchange(&connection, size: 100, seed: 30)
}

@Test func alpnWithoutHTTP11IsNotAcknowledged() throws {
    let connection = try TestConnection.establish(client: SuiteCase.tls13[0].makeClient(alpn: ["h2"]))
    #expect(connection.alpn == nil)
}

@Test(arguments: SuiteCase.tls13)
func clientKeyUpdateIsAnsweredAndDataStillFlows(_ suite: SuiteCase) throws {
    var connection = try TestConnection.establish(client: suite.makeClient())
    exchange(&connection, size: 100, seed: 4)
    for round in 0..<3 {
        #expect(SSL_key_update(connection.client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1)
        let delivery = connection.clientSends(Array("after update \(round)".utf8))
        #expect(delivery.plaintext == Array("after update \(round)".utf8))
        #expect(!delivery.output.isEmpty, "our KeyUpdate answer")
        exchange(&connection, size: 3000, seed: UInt64(10 + round))
    }
    #expect(SSL_key_update(connection.client.ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1)
    exchange(&connection, size: 100, seed: 20)
}

@Test(arguments: SuiteCase.all)
func closeNotifyFromClientIsAnsweredWithCloseNotify(_ suite: SuiteCase) throws {
    var connection = try TestConnection.establish(client: suite.makeClient())
    exchange(&connection, size: 10, seed: 5)
    #expect(SSL_shutdown(connection.client.ssl) == 0)
    let delivery = connection.deliver(connection.client.takeOutput())
    #expect(delivery.event == .closeNotify)
    connection.client.feed(delivery.output)
    #expect(SSL_shutdown(connection.client.ssl) == 1)
}

@Test(arguments: SuiteCase.all)
func exportedStateContinuesTheConnectionAfterImport(_ suite: SuiteCase) throws {
    var connection = try TestConnection.establish(client: suite.makeClient())
    exchange(&connection, size: 700, seed: 6)
    if suite.tls13Suite != nil {
        #expect(SSL_key_update(connection.client.ssl, SSL_KEY_UPDATE_REQUESTED) == 1)
        exchange(&connection, size: 10, seed: 7)
    }
    // Leave half a record unread, as a handoff mid-stream would.
    connection.client.write(Array("split across the handoff".utf8))
    let record = connection.client.takeOutput()
    let first = connection.deliver(Array(record.prefix(9)))
    #expect(first.plaintext.isEmpty)
    let state = connection.server.exportState()
    connection.server = try TLSRecordLayer(importing: state)
    #expect(connection.server.exportState() == state)
    let rest = connection.deliver(Array(record.dropFirst(9)))
    #expect(rest.plaintext == Array("split across the handoff".utf8))
    exchange(&connection, size: 20_000, seed: 8)
}

@Test(arguments: SuiteCase.all)
func tamperedRecordFailsWithBadRecordMACAndAnAlert(_ suite: SuiteCase) throws {
    var connection = try TestConnection.establish(client: suite.makeClient())
    exchange(&connection, size: 10, seed: 9)
    connection.client.write(Array("tamper with me".utf8))
    var record = connection.client.takeOutput()
    record[record.count - 20] ^= 0x01
    let delivery = connection.deliver(record)
    #expect(delivery.event == .failed(.badRecordMAC))
    #expect(delivery.plaintext.isEmpty)
    #expect(!delivery.output.isEmpty)
    connection.client.feed(delivery.output)
    #expect(connection.client.read().isEmpty)
    #expect(connection.client.readError() == SSL_ERROR_SSL)
}

@Test(arguments: [SuiteCase.tls13[0], SuiteCase.tls12[0]])
func negotiatedMaxFragmentLengthLimitsOurRecords(_ suite: SuiteCase) throws {
    let connection = try TestConnection.establish(client: suite.makeClient(maxFragmentCode: 1))
    #expect(connection.server.maxFragmentLength == 512)
    var output: [UInt8] = []
    var random = SplitMix(seed: 11)
    let data = random.bytes(2000)
    data.withUnsafeBytes { connection.server.seal($0, into: &output) }
    var offset = 0
    var records = 0
    while offset + 5 <= output.count {
        let length = Int(output[offset + 3]) << 8 | Int(output[offset + 4])
        #expect(length <= 512 + 24 + 1)
        offset += 5 + length
        records += 1
    }
    #expect(records == 4)
    connection.client.feed(output)
    #expect(connection.client.read() == data)
}

@Test(arguments: [SuiteCase.tls13[0], SuiteCase.tls13[2], SuiteCase.tls12[0], SuiteCase.tls12[2]])
func byteStreamsSplitAtEveryOffsetStillWork(_ suite: SuiteCase) throws {
    var connection = try TestConnection.establish(client: suite.makeClient(), chunkSize: { 1 })
    var random = SplitMix(seed: 12)
    let data = random.bytes(300)
    for _ in 0..<3 {
        #expect(connection.clientSends(data, chunkSize: { 1 }).plaintext == data)
    }
    #expect(connection.serverSends(data) == data)
}

@Test(arguments: SuiteCase.all)
func byteStreamsInRandomChunksStillWork(_ suite: SuiteCase) throws {
    var random = SplitMix(seed: 13)
    var connection = try TestConnection.establish(client: suite.makeClient(),
                                                  chunkSize: { Int.random(in: 1...700, using: &random) })
    for round in 0..<20 {
        let data = random.bytes(Int.random(in: 1...40_000, using: &random))
        let delivery = connection.clientSends(data, chunkSize: { Int.random(in: 1...3000, using: &random) })
        #expect(delivery.plaintext == data, "round \(round)")
        #expect(connection.serverSends(data) == data)
    }
}

@Test(arguments: SuiteCase.tls12)
func tls12RenegotiationFromAnOpenSSLClientIsRefused(_ suite: SuiteCase) throws {
    var connection = try TestConnection.establish(client: suite.makeClient())
    exchange(&connection, size: 10, seed: 31)
    #expect(SSL_renegotiate(connection.client.ssl) == 1)
    _ = SSL_do_handshake(connection.client.ssl)
    let hello = connection.deliver(connection.client.takeOutput())
    #expect(hello.event == .none)
    #expect(!hello.output.isEmpty, "warning no_renegotiation")
    // The OpenSSL client gives up on a refused renegotiation and says so with a fatal alert.
    connection.client.feed(hello.output)
    #expect(SSL_do_handshake(connection.client.ssl) <= 0)
    let abort = connection.deliver(connection.client.takeOutput())
    guard case .failed(.peerAlert) = abort.event else {
        Issue.record("expected the client's fatal alert, got \(abort.event)")
        return
    }
}
