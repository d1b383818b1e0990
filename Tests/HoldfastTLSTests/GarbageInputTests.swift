import HoldfastTestSupport
@testable import HoldfastTLS
import Testing

/// Random input must end in a typed failure or a request for more bytes, never a trap.
@Test func randomGarbageIntoTheHandshakeNeverCrashes() throws {
    var random = SplitMix(seed: 21)
    for round in 0..<300 {
        let handshake = try TLSServerHandshake(context: TestCredentials.context)
        var input = random.bytes(Int.random(in: 0...600, using: &random))
        // Half the rounds get a plausible record header so the bytes reach OpenSSL.
        if round % 2 == 0 && input.count >= 5 {
            input[0] = 22
            input[1] = 3
            input[2] = UInt8.random(in: 1...3, using: &random)
            let length = input.count - 5
            input[3] = UInt8(length >> 8)
            input[4] = UInt8(length & 0xFF)
            if input.count > 5 { input[5] = 1 }
        }
        var output: [UInt8] = []
        let progress = input.withUnsafeBytes { handshake.advance(input: $0, output: &output) }
        switch progress {
        case .needMoreInput(let consumed), .failed(_, let consumed):
            #expect(consumed <= input.count)
        case .established:
            Issue.record("garbage completed a handshake")
        }
    }
}

@Test func handshakeRejectsABadContentTypeWithAnAlert() throws {
    let handshake = try TLSServerHandshake(context: TestCredentials.context)
    var output: [UInt8] = []
    let progress = [UInt8]([99, 3, 1, 0, 1, 0]).withUnsafeBytes { handshake.advance(input: $0, output: &output) }
    guard case .failed(.unexpectedMessage, 0) = progress else {
        Issue.record("unexpected progress \(progress)")
        return
    }
    #expect(output == [21, 3, 3, 0, 2, 2, 10])
}

@Test func handshakeRejectsAnOversizedRecordWithAnAlert() throws {
    let handshake = try TLSServerHandshake(context: TestCredentials.context)
    var output: [UInt8] = []
    let progress = [UInt8]([22, 3, 1, 0x48, 0x01]).withUnsafeBytes { handshake.advance(input: $0, output: &output) }
    guard case .failed(.recordOverflow, 0) = progress else {
        Issue.record("unexpected progress \(progress)")
        return
    }
    #expect(output == [21, 3, 3, 0, 2, 2, 22])
}

@Test(arguments: [CipherSuite.tls13AES128GCMSHA256, .tls13ChaCha20Poly1305SHA256, .tls12AES128GCM, .tls12ChaCha])
func randomGarbageIntoOpenNeverCrashes(_ suite: CipherSuite) throws {
    var random = SplitMix(seed: 22)
    for round in 0..<500 {
        var peers = try TestPeers(suite: suite)
        var input = random.bytes(Int.random(in: 0...300, using: &random))
        if round % 2 == 0 && input.count >= 5 {
            input[0] = UInt8.random(in: 20...24, using: &random)
            input[1] = 3
            let length = round % 4 == 0 ? input.count - 5 : Int.random(in: 0...20_000, using: &random)
            input[3] = UInt8(length >> 8)
            input[4] = UInt8(length & 0xFF)
        }
        let result = peers.serverOpens(input)
        #expect(result.outcome.consumed <= input.count)
        #expect(result.plaintext.isEmpty)
        // A failure closes the layer for good.
        if case .failed = result.outcome.event {
            #expect(peers.serverOpens(input).outcome.event == .failed(.closed))
        }
    }
}

@Test func importingGarbageStateThrows() throws {
    var random = SplitMix(seed: 23)
    let valid = try TestPeers(suite: .tls13AES256GCMSHA384).server.exportState()
    for length in 0..<valid.count {
        #expect(throws: TLSError.self) { try TLSRecordLayer(importing: Array(valid.prefix(length))) }
    }
    #expect(throws: TLSError.self) { try TLSRecordLayer(importing: valid + [0]) }
    for _ in 0..<500 {
        var state = valid
        let index = Int.random(in: 0..<26, using: &random)
        state[index] ^= UInt8.random(in: 1...255, using: &random)
        // Flipped sequence numbers or a flip to another valid fragment length are still valid state;
        // any other header change must throw.
        if (7..<25).contains(index) { continue }
        #expect(throws: TLSError.self) { try TLSRecordLayer(importing: state) }
    }
    for _ in 0..<200 {
        let state = random.bytes(Int.random(in: 0...200, using: &random))
        #expect(throws: TLSError.self) { try TLSRecordLayer(importing: state) }
    }
}
