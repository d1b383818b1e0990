/// Serialization of the whole record state, for handing a live connection to a newly started process.
///
/// Format (big-endian): `"RL1" | version16 | suite16 | readSeq64 | writeSeq64 | maxFragment16 | pendingLength8 |
/// pending | readMaterial | writeMaterial`, where the material is the traffic secret for TLS 1.3 and key ‖ IV for
/// TLS 1.2. That is 90 bytes for TLS 1.3 SHA-256 suites, 122 for TLS_AES_256_GCM_SHA384, and 66, 98 or 114
/// bytes for TLS 1.2 AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305.
extension TLSRecordLayer {
    static let stateMagic: [UInt8] = Array("RL1".utf8)

    /// The whole session state as bytes, for handing the connection to another process.
    ///
    /// The bytes contain live traffic secrets: send them only over an inherited socketpair and wipe them
    /// afterwards. After exporting, this process must never read or write the connection again, because
    /// reusing a sequence number under the same key breaks AES-GCM.
    public func exportState() -> [UInt8] {
        var state = Self.stateMagic
        state.reserveCapacity(27 + pendingHandshake.count + 2 * suite.materialLength)
        appendBigEndian(UInt64(version == .v1_3 ? 0x0304 : 0x0303), bytes: 2, to: &state)
        appendBigEndian(UInt64(suite.rawValue), bytes: 2, to: &state)
        appendBigEndian(readSequence, bytes: 8, to: &state)
        appendBigEndian(writeSequence, bytes: 8, to: &state)
        appendBigEndian(UInt64(maxFragmentLength), bytes: 2, to: &state)
        state.append(UInt8(pendingHandshake.count))
        state += pendingHandshake
        state += reader.material
        state += writer.material
        return state
    }

    /// Rebuilds a record layer from ``exportState()`` bytes.
    ///
    /// - Throws: ``TLSError/invalidState(_:)`` for anything malformed (wrong magic, unknown suite, version
    ///   mismatch, wrong length); never traps.
    public convenience init(importing state: [UInt8]) throws(TLSError) {
        var reader = StateReader(bytes: state)
        guard reader.take(3) == Self.stateMagic else { throw .invalidState("missing RL1 prefix") }
        guard let versionCode = reader.bigEndian(2), let suiteCode = reader.bigEndian(2),
              let readSequence = reader.bigEndian(8), let writeSequence = reader.bigEndian(8),
              let maxFragment = reader.bigEndian(2), let pendingLength = reader.bigEndian(1)
        else { throw .invalidState("truncated header") }
        guard let suite = CipherSuite(rawValue: UInt16(truncatingIfNeeded: suiteCode)) else {
            throw .invalidState("unknown cipher suite \(suiteCode)")
        }
        guard versionCode == (suite.version == .v1_3 ? 0x0304 : 0x0303) else {
            throw .invalidState("version \(versionCode) does not match \(suite.name)")
        }
        guard [512, 1024, 2048, 4096, 16384].contains(maxFragment) else {
            throw .invalidState("invalid maximum fragment length \(maxFragment)")
        }
        guard pendingLength == 0 || (suite.version == .v1_3 && pendingLength < 5) else {
            throw .invalidState("invalid pending handshake length \(pendingLength)")
        }
        guard let pending = reader.take(Int(pendingLength)), pending.first.map({ $0 == 24 }) ?? true else {
            throw .invalidState("invalid pending handshake bytes")
        }
        guard var readMaterial = reader.take(suite.materialLength),
              var writeMaterial = reader.take(suite.materialLength), reader.isAtEnd
        else { throw .invalidState("wrong length for \(suite.name)") }
        defer {
            wipe(&readMaterial)
            wipe(&writeMaterial)
        }
        // Our write key is rotated before 2^23 records in TLS 1.3, so a larger value means corrupt state.
        guard suite.version == .v1_2 || writeSequence <= Self.keyUpdateThreshold else {
            throw .invalidState("write sequence \(writeSequence) out of range")
        }
        try self.init(
            suite: suite, readMaterial: readMaterial, writeMaterial: writeMaterial,
            readSequence: readSequence, writeSequence: writeSequence, maxFragmentLength: Int(maxFragment))
        self.pendingHandshake = pending
    }
}

extension TLSRecordLayer {
    /// Takes the sequence numbers and pending handshake bytes of `state`, an ``exportState()`` of this very session
    /// at a later point, without keying anything again (importing derives every key, a cost a binary upgrade's pause
    /// pays per TLS connection with queued output). Returns false, changing nothing, when `state` is malformed or
    /// of another suite, fragment length or key material (a key update since): the caller then imports it whole.
    public func takeSequences(from state: [UInt8]) -> Bool {
        var input = StateReader(bytes: state)
        guard input.matches(Self.stateMagic), input.bigEndian(2) != nil,
              input.bigEndian(2) == UInt64(suite.rawValue), let readSequence = input.bigEndian(8),
              let writeSequence = input.bigEndian(8), input.bigEndian(2) == UInt64(maxFragmentLength),
              let pendingLength = input.bigEndian(1), pendingLength == 0 || (version == .v1_3 && pendingLength < 5),
              let pending = input.take(Int(pendingLength)), pending.first.map({ $0 == 24 }) ?? true,
              input.matches(reader.material), input.matches(writer.material),
              input.isAtEnd, version == .v1_2 || writeSequence <= Self.keyUpdateThreshold
        else { return false }
        (self.readSequence, self.writeSequence, pendingHandshake) = (readSequence, writeSequence, pending)
        return true
    }
}

private func appendBigEndian(_ value: UInt64, bytes: Int, to output: inout [UInt8]) {
    for index in stride(from: bytes - 1, through: 0, by: -1) {
        output.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))))
    }
}

/// A bounds-checked cursor over untrusted bytes.
private struct StateReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// Read in place: a handoff's pause takes the sequence numbers of every TLS connection with output, so no
    /// field is copied out to be read.
    mutating func bigEndian(_ count: Int) -> UInt64? {
        guard count >= 0, bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return bytes[offset..<offset + count].reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Whether the next bytes are `expected`, compared in place (consumed when there are that many).
    mutating func matches(_ expected: [UInt8]) -> Bool {
        guard bytes.count - offset >= expected.count else { return false }
        defer { offset += expected.count }
        return bytes[offset..<offset + expected.count].elementsEqual(expected)
    }
}
