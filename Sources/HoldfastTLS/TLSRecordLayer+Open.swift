/// Per-record read processing for each protocol version. Every length here comes from the peer, so all
/// slicing is bounds-checked against the record before use.
extension TLSRecordLayer {
    /// TLS 1.3: the outer type must be application_data; the real type is the last non-zero inner byte.
    func openTLS13(
        type: UInt8, header: UnsafeRawBufferPointer, body: UnsafeMutableRawBufferPointer,
        plaintext: inout [UInt8], output: inout [UInt8]
    ) -> Step {
        guard type == ContentType.applicationData else { return .failed(.unexpectedMessage) }
        guard body.count > 16 else { return .failed(.decodeError) }
        let textLength = body.count - 16
        let text = UnsafeMutableRawBufferPointer(rebasing: body[0..<textLength])
        guard let tag = body.baseAddress.map({ UnsafeRawPointer($0 + textLength) }),
              reader.open(counter: readSequence, aad: header, text: text, tag: tag)
        else { return .failed(.badRecordMAC) }
        guard readSequence < .max else { return .failed(.internalError("read sequence exhausted")) }
        readSequence += 1
        // Inner plaintext (content, type byte and padding) may be at most 2^14 + 1 bytes.
        guard textLength <= 16384 + 1 else { return .failed(.recordOverflow) }
        var typeIndex = textLength - 1
        while typeIndex >= 0 && text[typeIndex] == 0 { typeIndex -= 1 }
        guard typeIndex >= 0 else { return .failed(.unexpectedMessage) }
        let content = UnsafeRawBufferPointer(rebasing: text[0..<typeIndex])
        switch text[typeIndex] {
        case ContentType.applicationData:
            // Records must not interleave with a partly received handshake message.
            guard pendingHandshake.isEmpty else { return .failed(.unexpectedMessage) }
            if content.isEmpty { return countEmptyRecord() ? .failed(.tooManyEmptyRecords) : .next }
            plaintext.append(contentsOf: content)
            resetFloodCounters()
            return .next
        case ContentType.alert:
            guard pendingHandshake.isEmpty else { return .failed(.unexpectedMessage) }
            guard content.count == 2 else { return .failed(.decodeError) }
            // In TLS 1.3 every alert but close_notify and user_canceled is fatal, whatever its level says.
            switch content[1] {
            case AlertCode.closeNotify: return .closeNotify
            case AlertCode.userCanceled: return countEmptyRecord() ? .failed(.tooManyEmptyRecords) : .next
            default: return .failed(.peerAlert(content[1]))
            }
        case ContentType.handshake:
            guard !content.isEmpty else { return .failed(.unexpectedMessage) }
            return handleTLS13Handshake(content, output: &output)
        default:
            return .failed(.unexpectedMessage)
        }
    }

    /// Only KeyUpdate (type 24, length 1, value 0 or 1) is allowed after the handshake, and it must end its
    /// record because the next record is under the new key. A split KeyUpdate is buffered (4 bytes at most).
    private func handleTLS13Handshake(_ content: UnsafeRawBufferPointer, output: inout [UInt8]) -> Step {
        var message = pendingHandshake
        message.append(contentsOf: content)
        pendingHandshake = []
        guard message[0] == 24 else { return .failed(.unexpectedMessage) }
        if message.count >= 4 {
            guard message[1] == 0, message[2] == 0, message[3] == 1 else { return .failed(.decodeError) }
        }
        guard message.count >= 5 else {
            pendingHandshake = message
            return .next
        }
        guard message.count == 5 else { return .failed(.unexpectedMessage) }
        let updateRequested = message[4]
        guard updateRequested <= 1 else { return .failed(.illegalParameter) }
        keyUpdatesInRow &+= 1
        guard keyUpdatesInRow <= Self.floodLimit else { return .failed(.tooManyKeyUpdates) }
        guard let nextReader = reader.next() else { return .failed(.internalError("KeyUpdate derivation failed")) }
        reader = nextReader
        readSequence = 0
        if updateRequested == 1 {
            // Answer before any more application data goes out, under the current write key.
            guard updateWriteKey(into: &output) else {
                return .failed(.internalError("KeyUpdate derivation failed"))
            }
        }
        return .next
    }

    /// TLS 1.2 AEAD: GCM records carry an 8-byte explicit nonce; the AAD is seq ‖ type ‖ version ‖ length.
    func openTLS12(
        type: UInt8, body: UnsafeMutableRawBufferPointer, plaintext: inout [UInt8], output: inout [UInt8]
    ) -> Step {
        guard type == ContentType.applicationData || type == ContentType.alert || type == ContentType.handshake
        else { return .failed(.unexpectedMessage) }
        let overhead = suite.recordOverhead
        guard body.count >= overhead else { return .failed(.decodeError) }
        let textLength = body.count - overhead
        guard textLength <= 16384 else { return .failed(.recordOverflow) }
        let textStart = suite.usesExplicitNonce ? 8 : 0
        var counter = readSequence
        if suite.usesExplicitNonce {
            counter = 0
            for index in 0..<8 { counter = counter << 8 | UInt64(body[index]) }
        }
        let text = UnsafeMutableRawBufferPointer(rebasing: body[textStart..<textStart + textLength])
        var aad = Self.tls12AAD(sequence: readSequence, type: type, length: textLength)
        let opened = withUnsafeBytes(of: &aad) { aadBytes in
            guard let tag = body.baseAddress.map({ UnsafeRawPointer($0 + textStart + textLength) }) else {
                return false
            }
            return reader.open(counter: counter, aad: UnsafeRawBufferPointer(rebasing: aadBytes[0..<13]),
                               text: text, tag: tag)
        }
        guard opened else { return .failed(.badRecordMAC) }
        guard readSequence < .max else { return .failed(.internalError("read sequence exhausted")) }
        readSequence += 1
        let content = UnsafeRawBufferPointer(text)
        switch type {
        case ContentType.applicationData:
            if content.isEmpty { return countEmptyRecord() ? .failed(.tooManyEmptyRecords) : .next }
            plaintext.append(contentsOf: content)
            resetFloodCounters()
            return .next
        case ContentType.alert:
            guard content.count == 2 else { return .failed(.decodeError) }
            if content[1] == AlertCode.closeNotify { return .closeNotify }
            // Warning alerts are ignored (but counted); fatal ones end the connection.
            guard content[0] == 1 else { return .failed(.peerAlert(content[1])) }
            return countEmptyRecord() ? .failed(.tooManyEmptyRecords) : .next
        default:
            // A ClientHello here is a renegotiation attempt: refused with a warning, as OpenSSL servers do with
            // SSL_OP_NO_RENEGOTIATION. Any other handshake message is out of place.
            guard content.first == 1 else { return .failed(.unexpectedMessage) }
            sealAlert(level: 1, description: AlertCode.noRenegotiation, into: &output)
            return countEmptyRecord() ? .failed(.tooManyEmptyRecords) : .next
        }
    }

    /// The 13-byte TLS 1.2 additional data, in a fixed-size value so building it never allocates.
    static func tls12AAD(sequence: UInt64, type: UInt8, length: Int) -> (UInt64, UInt64) {
        var aad: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &aad) { bytes in
            for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: sequence >> (8 * UInt64(7 - index))) }
            bytes[8] = type
            bytes[9] = 3
            bytes[10] = 3
            bytes[11] = UInt8(truncatingIfNeeded: length >> 8)
            bytes[12] = UInt8(truncatingIfNeeded: length)
        }
        return aad
    }
}
