import FuzzSupport
@testable import HoldfastTLS

/// Every suite the record layer supports, in a fixed order for the selector byte.
private let suites: [CipherSuite] = [
    .tls13AES128GCMSHA256, .tls13AES256GCMSHA384, .tls13ChaCha20Poly1305SHA256,
    .ecdheECDSAAES128GCMSHA256, .ecdheECDSAAES256GCMSHA384, .ecdheRSAAES128GCMSHA256,
    .ecdheRSAAES256GCMSHA384, .ecdheRSAChaCha20Poly1305, .ecdheECDSAChaCha20Poly1305,
]

/// The fixed key material of the unit tests' `TestPeers`: the client writes with one, the server with the other.
private func material(_ suite: CipherSuite, client: Bool) -> [UInt8] {
    (0..<suite.materialLength).map {
        client ? UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) : UInt8(truncatingIfNeeded: $0 &* 13 &+ 5)
    }
}

private func layer(_ suite: CipherSuite, server: Bool) -> TLSRecordLayer {
    do {
        return try TLSRecordLayer(
            suite: suite, readMaterial: material(suite, client: server), writeMaterial: material(suite, client: !server),
            readSequence: 0, writeSequence: 0)
    } catch {
        fatalError("cannot set up \(suite.name): \(error)")
    }
}

/// Record contents sealed by a client with the same keys: `[type][length][content]…`, where the type byte's low
/// five bits pick the content type (20…24, or another value) and its top bit corrupts the sealed record's tag.
private func sealedRecords(_ spec: ArraySlice<UInt8>, suite: CipherSuite) -> [UInt8] {
    var client = layer(suite, server: false)
    var stream: [UInt8] = []
    var index = spec.startIndex
    while index + 1 < spec.endIndex {
        let typeByte = spec[index]
        let length = min(Int(spec[index + 1]), spec.endIndex - index - 2)
        let content = Array(spec[index + 2..<index + 2 + length])
        index += 2 + length
        let type = typeByte & 0x1F < 5 ? 20 + typeByte & 0x1F : typeByte & 0x1F
        let start = stream.count
        content.withUnsafeBytes { client.sealRecord(type: type, content: $0, into: &stream) }
        if typeByte & 0x80 != 0, stream.count > start { stream[stream.count - 1] ^= 1 }
    }
    return stream
}

/// What the server's record layer made of `stream` delivered in two parts split at `split`.
private func open(_ stream: [UInt8], suite: CipherSuite, split: Int) -> String {
    var server = layer(suite, server: true)
    var plaintext: [UInt8] = []
    var output: [UInt8] = []
    var buffer: [UInt8] = []
    for part in [stream[..<split], stream[split...]] {
        buffer += part
        let outcome = buffer.withUnsafeMutableBytes { server.open($0, plaintext: &plaintext, output: &output) }
        require(outcome.consumed <= buffer.count, "consumed \(outcome.consumed) of \(buffer.count) bytes")
        buffer.removeFirst(outcome.consumed)
        if outcome.event != .none { return "\(outcome.event) \(plaintext) \(output)" }
    }
    return "none \(plaintext) \(output) pending \(buffer.count)"
}

/// Input: a selector byte (suite; top bit: the rest is record contents to seal, else raw wire bytes), then the
/// bytes. The records are fed whole and split at every offset; the server must decrypt the same whatever the split.
@main
enum FuzzTLS {
    static func main() {
        FuzzDriver.run { input in
            guard let selector = input.first, input.count <= 4096 else { return }
            let suite = suites[Int(selector & 0x7F) % suites.count]
            let rest = Array(input.dropFirst())
            let stream = selector & 0x80 == 0 ? rest : sealedRecords(rest[...], suite: suite)
            let whole = open(stream, suite: suite, split: stream.count)
            for split in 0..<stream.count {
                let result = open(stream, suite: suite, split: split)
                require(result == whole, "split at \(split): \(result) != \(whole)")
            }
        }
    }
}
