@testable import HoldfastTLS
import Testing

/// Vectors from RFC 8448 section 3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256).
enum RFC8448 {
    static let clientApplicationSecret = hex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5")
    static let serverApplicationSecret = hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643")
    static let clientKey = hex("17422dda596ed5d9acd890e3c63f5051")
    static let clientIV = hex("5b78923dee08579033e523d9")
    static let serverKey = hex("9f02283b6c9c07efc26bb9f2ac92e356")
    static let serverIV = hex("cf782b88dd83549aadf1e984")
    /// Both sides send the 50 bytes 00 01 ... 31.
    static let applicationData = (0..<50).map { UInt8($0) }
    /// The client's first application record (client write sequence 0).
    static let clientRecord = hex("""
        1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a\
        6292a2977014bd1e3deae63aeebb21694915e4
        """)
    /// The server's first application record: sequence 1, after the NewSessionTicket at 0.
    static let serverRecord = hex("""
        17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2\
        e5f0a21c0047c2abf332540dd032e167c2955d
        """)
}

@Test func expandLabelDerivesTheRFC8448ApplicationKeysAndIVs() throws {
    let server = try #require(KeySchedule.trafficKeyAndIV(
        secret: RFC8448.serverApplicationSecret, suite: .tls13AES128GCMSHA256))
    #expect(server.key == RFC8448.serverKey)
    #expect(server.iv == RFC8448.serverIV)
    let client = try #require(KeySchedule.trafficKeyAndIV(
        secret: RFC8448.clientApplicationSecret, suite: .tls13AES128GCMSHA256))
    #expect(client.key == RFC8448.clientKey)
    #expect(client.iv == RFC8448.clientIV)
}

@Test func sealProducesTheRFC8448ServerRecord() throws {
    let layer = try rfc8448ServerLayer()
    var output: [UInt8] = []
    RFC8448.applicationData.withUnsafeBytes { layer.seal($0, into: &output) }
    #expect(output == RFC8448.serverRecord)
}

@Test func openDecryptsTheRFC8448ClientRecord() throws {
    let layer = try rfc8448ServerLayer()
    var input = RFC8448.clientRecord
    var plaintext: [UInt8] = []
    var output: [UInt8] = []
    let outcome = input.withUnsafeMutableBytes { layer.open($0, plaintext: &plaintext, output: &output) }
    #expect(outcome.consumed == RFC8448.clientRecord.count)
    #expect(outcome.event == .none)
    #expect(plaintext == RFC8448.applicationData)
    #expect(output.isEmpty)
}

@Test func clientSideLayerOpensTheRFC8448ServerRecord() throws {
    let layer = try TLSRecordLayer(
        suite: .tls13AES128GCMSHA256, readMaterial: RFC8448.serverApplicationSecret,
        writeMaterial: RFC8448.clientApplicationSecret, readSequence: 1, writeSequence: 0)
    var input = RFC8448.serverRecord
    var plaintext: [UInt8] = []
    var output: [UInt8] = []
    let outcome = input.withUnsafeMutableBytes { layer.open($0, plaintext: &plaintext, output: &output) }
    #expect(outcome.event == .none)
    #expect(plaintext == RFC8448.applicationData)
    var sealed: [UInt8] = []
    RFC8448.applicationData.withUnsafeBytes { layer.seal($0, into: &sealed) }
    #expect(sealed == RFC8448.clientRecord)
}

@Test func exportedStateHasTheDocumentedSize() throws {
    let layer = try rfc8448ServerLayer()
    let state = layer.exportState()
    #expect(state.count == 90)
    #expect(Array(state.prefix(7)) == [0x52, 0x4C, 0x31, 0x03, 0x04, 0x13, 0x01])
}

/// The server's record layer right after the RFC 8448 handshake (one NewSessionTicket already written).
func rfc8448ServerLayer() throws -> TLSRecordLayer {
    try TLSRecordLayer(
        suite: .tls13AES128GCMSHA256, readMaterial: RFC8448.clientApplicationSecret,
        writeMaterial: RFC8448.serverApplicationSecret, readSequence: 0, writeSequence: 1)
}

/// Hex to bytes for fixtures; traps on bad fixtures, which is a test bug.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") })
    guard let bytes = decodeHex(digits) else { fatalError("bad hex fixture") }
    return bytes
}
