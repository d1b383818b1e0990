@testable import HoldfastTLS

/// The OpenSSL client connected to our server code, with the server's unconsumed input kept like a real
/// connection keeps it.
struct TestConnection {
    let client: TestClient
    var server: TLSRecordLayer
    var serverInput: [UInt8]
    let alpn: String?

    /// Bytes the server saw from one delivery.
    struct Delivery {
        var plaintext: [UInt8] = []
        var output: [UInt8] = []
        var event: TLSReadOutcome.Event = .none
    }

    /// Runs the handshake, feeding the server `chunkSize()` bytes at a time. `firstData` is written by the client
    /// as soon as it considers itself connected, so it travels in the same flight as its Finished (TLS 1.3).
    static func establish(
        client: TestClient, firstData: [UInt8] = [], chunkSize: () -> Int = { .max }
    ) throws -> TestConnection {
        let handshake = try TLSServerHandshake(context: TestCredentials.context)
        var pending: [UInt8] = []
        var established: (layer: TLSRecordLayer, alpn: String?)?
        var wroteFirstData = firstData.isEmpty
        for _ in 0..<100 {
            if client.step() && !wroteFirstData {
                client.write(firstData)
                wroteFirstData = true
            }
            let bytes = client.takeOutput()
            var index = 0
            while index < bytes.count && established == nil {
                let count = min(max(chunkSize(), 1), bytes.count - index)
                pending += bytes[index..<index + count]
                index += count
                var output: [UInt8] = []
                let progress = pending.withUnsafeBytes { handshake.advance(input: $0, output: &output) }
                client.feed(output)
                switch progress {
                case .needMoreInput(let consumed):
                    pending.removeFirst(consumed)
                case .established(let layer, let consumed, let alpn):
                    pending.removeFirst(consumed)
                    established = (layer, alpn)
                case .failed(let error, _):
                    throw error
                }
            }
            pending += bytes[index...]
            if let established, client.step() {
                return TestConnection(client: client, server: established.layer, serverInput: pending,
                                      alpn: established.alpn)
            }
        }
        throw TLSError.handshakeFailed("test handshake did not finish")
    }

    /// Delivers bytes to the server's record layer `chunkSize()` bytes at a time.
    mutating func deliver(_ bytes: [UInt8], chunkSize: () -> Int = { .max }) -> Delivery {
        var delivery = Delivery()
        var index = 0
        repeat {
            let count = min(max(chunkSize(), 1), bytes.count - index)
            serverInput += bytes[index..<index + count]
            index += count
            let outcome = serverInput.withUnsafeMutableBytes {
                server.open($0, plaintext: &delivery.plaintext, output: &delivery.output)
            }
            serverInput.removeFirst(outcome.consumed)
            if outcome.event != .none {
                delivery.event = outcome.event
                break
            }
        } while index < bytes.count
        return delivery
    }

    /// Client writes `data`; returns what the server decrypted (its output goes back to the client).
    mutating func clientSends(_ data: [UInt8], chunkSize: () -> Int = { .max }) -> Delivery {
        client.write(data)
        let delivery = deliver(client.takeOutput(), chunkSize: chunkSize)
        client.feed(delivery.output)
        return delivery
    }

    /// Server seals `data`; returns what the OpenSSL client read.
    mutating func serverSends(_ data: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        data.withUnsafeBytes { server.seal($0, into: &output) }
        client.feed(output)
        return client.read()
    }
}

/// A client-side record layer made from the same material, to send records OpenSSL would never send.
struct TestPeers {
    var server: TLSRecordLayer
    var client: TLSRecordLayer

    init(suite: CipherSuite) throws {
        let clientMaterial = (0..<suite.materialLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let serverMaterial = (0..<suite.materialLength).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        server = try TLSRecordLayer(suite: suite, readMaterial: clientMaterial, writeMaterial: serverMaterial,
                                    readSequence: 0, writeSequence: 0)
        client = try TLSRecordLayer(suite: suite, readMaterial: serverMaterial, writeMaterial: clientMaterial,
                                    readSequence: 0, writeSequence: 0)
    }

    /// Client seals a record of any type and content; returns the sealed bytes.
    mutating func clientRecord(type: UInt8, _ content: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        content.withUnsafeBytes { client.sealRecord(type: type, content: $0, into: &output) }
        return output
    }

    /// Server opens `bytes`.
    mutating func serverOpens(_ bytes: [UInt8]) -> (outcome: TLSReadOutcome, plaintext: [UInt8], output: [UInt8]) {
        var input = bytes
        var plaintext: [UInt8] = []
        var output: [UInt8] = []
        let outcome = input.withUnsafeMutableBytes { server.open($0, plaintext: &plaintext, output: &output) }
        return (outcome, plaintext, output)
    }
}
