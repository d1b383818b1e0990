@testable import HoldfastTLS
import Testing

@Test func emptyRecordFloodIsCutOff() throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    var flood: [UInt8] = []
    for _ in 0..<40 { flood += peers.clientRecord(type: ContentType.applicationData, []) }
    let result = peers.serverOpens(flood)
    #expect(result.outcome.event == .failed(.tooManyEmptyRecords))
    #expect(!result.output.isEmpty)
}

@Test func emptyRecordsSeparatedByDataAreFine() throws {
    var peers = try TestPeers(suite: .tls12ChaCha)
    var stream: [UInt8] = []
    for round in 0..<4 {
        for _ in 0..<30 { stream += peers.clientRecord(type: ContentType.applicationData, []) }
        stream += peers.clientRecord(type: ContentType.applicationData, [UInt8(round)])
    }
    let result = peers.serverOpens(stream)
    #expect(result.outcome.event == .none)
    #expect(result.plaintext == [0, 1, 2, 3])
}

@Test func keyUpdateFloodIsCutOff() throws {
    var peers = try TestPeers(suite: .tls13ChaCha20Poly1305SHA256)
    var flood: [UInt8] = []
    for _ in 0..<40 {
        var output: [UInt8] = []
        let updated = peers.client.updateWriteKey(into: &output)
        #expect(updated)
        flood += output
    }
    let result = peers.serverOpens(flood)
    #expect(result.outcome.event == .failed(.tooManyKeyUpdates))
}

@Test func requestedKeyUpdateIsAnsweredBeforeMoreData() throws {
    var peers = try TestPeers(suite: .tls13AES256GCMSHA384)
    let request = peers.clientRecord(type: ContentType.handshake, [24, 0, 0, 1, 1])
    let result = peers.serverOpens(request)
    #expect(result.outcome.event == .none)
    #expect(peers.server.writeSequence == 0)
    // The client reads our answer under the old key, then switches its read key.
    var answer = result.output
    var plaintext: [UInt8] = []
    var output: [UInt8] = []
    let read = answer.withUnsafeMutableBytes { peers.client.open($0, plaintext: &plaintext, output: &output) }
    #expect(read.event == .none)
    var data: [UInt8] = []
    [UInt8]([1, 2, 3]).withUnsafeBytes { peers.server.seal($0, into: &data) }
    _ = data.withUnsafeMutableBytes { peers.client.open($0, plaintext: &plaintext, output: &output) }
    #expect(plaintext == [1, 2, 3])
}

@Test func keyUpdateSplitAcrossRecordsIsAccepted() throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    let first = peers.clientRecord(type: ContentType.handshake, [24, 0])
    let second = peers.clientRecord(type: ContentType.handshake, [0, 1, 0])
    #expect(peers.serverOpens(first).outcome.event == .none)
    #expect(peers.server.pendingHandshake == [24, 0])
    // The pending bytes survive a handoff.
    peers.server = try TLSRecordLayer(importing: peers.server.exportState())
    #expect(peers.serverOpens(second).outcome.event == .none)
    // The client switches its write key after sending the KeyUpdate.
    peers.client.writer = try #require(peers.client.writer.next())
    peers.client.writeSequence = 0
    let data = peers.clientRecord(type: ContentType.applicationData, [42])
    #expect(peers.serverOpens(data).plaintext == [42])
}

@Test(arguments: [
    [UInt8]([4, 0, 0, 1, 0]),      // NewSessionTicket from a client
    [24, 0, 0, 1, 0, 24],           // KeyUpdate not ending its record
    [20, 0, 0, 32],                 // Finished
])
func tls13HandshakeMessagesOtherThanKeyUpdateAreUnexpected(_ message: [UInt8]) throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    let result = peers.serverOpens(peers.clientRecord(type: ContentType.handshake, message))
    #expect(result.outcome.event == .failed(.unexpectedMessage))
    #expect(!result.output.isEmpty)
}

@Test func keyUpdateWithBadValueIsIllegal() throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    let result = peers.serverOpens(peers.clientRecord(type: ContentType.handshake, [24, 0, 0, 1, 2]))
    #expect(result.outcome.event == .failed(.illegalParameter))
}

@Test func tls13ChangeCipherSpecAfterTheHandshakeIsUnexpected() throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    let result = peers.serverOpens([20, 3, 3, 0, 1, 1])
    #expect(result.outcome.event == .failed(.unexpectedMessage))
}

@Test func tls13AllZeroInnerPlaintextIsUnexpected() throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    // Content type 0 with padding: the inner plaintext is all zeros.
    let result = peers.serverOpens(peers.clientRecord(type: 0, [0, 0, 0]))
    #expect(result.outcome.event == .failed(.unexpectedMessage))
}

@Test func oversizedRecordIsRecordOverflow() throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    let length = 16384 + 257
    let result = peers.serverOpens([23, 3, 3, UInt8(length >> 8), UInt8(length & 0xFF)])
    #expect(result.outcome.event == .failed(.recordOverflow))
    #expect(result.outcome.consumed == 0)
}

@Test func userCanceledIsIgnoredAndOtherAlertsClose() throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    #expect(peers.serverOpens(peers.clientRecord(type: ContentType.alert, [1, 90])).outcome.event == .none)
    let fatal = peers.serverOpens(peers.clientRecord(type: ContentType.alert, [2, 40]))
    #expect(fatal.outcome.event == .failed(.peerAlert(40)))
    #expect(fatal.output.isEmpty)
}

@Test func tls12RenegotiationGetsAWarningNoRenegotiation() throws {
    var peers = try TestPeers(suite: .tls12AES128GCM)
    let result = peers.serverOpens(peers.clientRecord(type: ContentType.handshake, [1, 0, 0, 0]))
    #expect(result.outcome.event == .none)
    var warning = result.output
    var plaintext: [UInt8] = []
    var output: [UInt8] = []
    // The client sees a warning (ignored by its layer) and the connection stays usable.
    let read = warning.withUnsafeMutableBytes { peers.client.open($0, plaintext: &plaintext, output: &output) }
    #expect(read.event == .none)
    #expect(peers.serverOpens(peers.clientRecord(type: ContentType.applicationData, [7])).plaintext == [7])
}

@Test func tls12OtherHandshakeMessagesAreUnexpected() throws {
    var peers = try TestPeers(suite: .tls12AES128GCM)
    let result = peers.serverOpens(peers.clientRecord(type: ContentType.handshake, [20, 0, 0, 12]))
    #expect(result.outcome.event == .failed(.unexpectedMessage))
}

@Test func closedLayerProcessesNothingMore() throws {
    var peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    let close = peers.serverOpens(peers.clientRecord(type: ContentType.alert, [1, 0]))
    #expect(close.outcome.event == .closeNotify)
    #expect(!close.output.isEmpty)
    let after = peers.serverOpens(peers.clientRecord(type: ContentType.applicationData, [1]))
    #expect(after.outcome.event == .failed(.closed))
    #expect(after.plaintext.isEmpty)
}

@Test func writeKeyRotatesAtTheRecordLimit() throws {
    let peers = try TestPeers(suite: .tls13AES128GCMSHA256)
    peers.server.writeSequence = TLSRecordLayer.keyUpdateThreshold
    peers.client.readSequence = TLSRecordLayer.keyUpdateThreshold
    var output: [UInt8] = []
    [UInt8]([9, 9]).withUnsafeBytes { peers.server.seal($0, into: &output) }
    #expect(peers.server.writeSequence == 1)
    var plaintext: [UInt8] = []
    var replies: [UInt8] = []
    let read = output.withUnsafeMutableBytes { peers.client.open($0, plaintext: &plaintext, output: &replies) }
    #expect(read.event == .none)
    #expect(plaintext == [9, 9])
}

@Test(arguments: [CipherSuite.tls13AES128GCMSHA256, .tls13AES256GCMSHA384, .tls12AES128GCM, .tls12AES256GCM,
                  .tls12ChaCha])
func exportedStateHasTheDocumentedSizePerSuite(_ suite: CipherSuite) throws {
    let peers = try TestPeers(suite: suite)
    let expected: [CipherSuite: Int] = [
        .tls13AES128GCMSHA256: 90, .tls13AES256GCMSHA384: 122, .tls12AES128GCM: 66, .tls12AES256GCM: 98,
        .tls12ChaCha: 114,
    ]
    #expect(peers.server.exportState().count == expected[suite])
}

@Test func aConnectionHoldsTheRecordLayerAsOnePointer() {
    // Every connection object has a slot for it, TLS or not: one pointer, nil on plaintext connections.
    #expect(MemoryLayout<TLSRecordLayer?>.size == 8)
}

extension CipherSuite {
    static let tls12AES128GCM = CipherSuite.ecdheECDSAAES128GCMSHA256
    static let tls12AES256GCM = CipherSuite.ecdheRSAAES256GCMSHA384
    static let tls12ChaCha = CipherSuite.ecdheECDSAChaCha20Poly1305
}

/// A copy imported earlier takes a later export's sequence numbers without keying again, and then seals exactly
/// what the original seals; another session's state, or one keyed again since (KeyUpdate), is refused unchanged.
@Test(arguments: [CipherSuite.tls13AES128GCMSHA256, .tls13AES256GCMSHA384])
func aStagedCopyTakesLaterSequenceNumbers(_ suite: CipherSuite) throws {
    var peers = try TestPeers(suite: suite)
    let copy = try TLSRecordLayer(importing: peers.server.exportState())
    var sealed: [UInt8] = []
    for _ in 0..<3 { [UInt8]([7, 8]).withUnsafeBytes { peers.server.seal($0, into: &sealed) } }
    #expect(peers.serverOpens(peers.clientRecord(type: ContentType.applicationData, [1])).plaintext == [1])
    #expect(copy.takeSequences(from: peers.server.exportState()))
    #expect(copy.exportState() == peers.server.exportState())
    var fromCopy: [UInt8] = []
    var fromOriginal: [UInt8] = []
    [UInt8]([9]).withUnsafeBytes { copy.seal($0, into: &fromCopy) }
    [UInt8]([9]).withUnsafeBytes { peers.server.seal($0, into: &fromOriginal) }
    #expect(fromCopy == fromOriginal)

    let before = copy.exportState()
    #expect(!copy.takeSequences(from: peers.client.exportState()))  // other keys
    #expect(!copy.takeSequences(from: Array(before.dropLast())))
    #expect(!copy.takeSequences(from: before + [0]))
    peers.server.writer = try #require(peers.server.writer.next())  // our write key updated
    #expect(!copy.takeSequences(from: peers.server.exportState()))
    #expect(copy.exportState() == before)
}
