/// Record protection on the write side.
extension TLSRecordLayer {
    /// Encrypts `plaintext` into as many application-data records as needed (at most
    /// min(2^14, max_fragment_length) bytes each), appended to `output`. Empty input writes nothing.
    ///
    /// TLS 1.3: starts a KeyUpdate of our own when the write sequence reaches 2^23. A peer's update_requested
    /// was already answered by ``open(_:plaintext:output:)``. After the layer failed or answered close_notify,
    /// nothing is written.
    public func seal(_ plaintext: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        var offset = 0
        while offset < plaintext.count && !isClosed {
            let count = min(maxFragmentLength, plaintext.count - offset)
            sealRecord(type: ContentType.applicationData,
                       content: UnsafeRawBufferPointer(rebasing: plaintext[offset..<offset + count]), into: &output)
            offset += count
        }
    }

    /// Appends an encrypted alert record.
    func sealAlert(level: UInt8, description: UInt8, into output: inout [UInt8]) {
        var alert = (level, description)
        withUnsafeBytes(of: &alert) { sealRecord(type: ContentType.alert, content: $0, into: &output) }
    }

    /// Sends KeyUpdate(update_not_requested) under the current write key, then switches to the next key.
    func updateWriteKey(into output: inout [UInt8]) -> Bool {
        let keyUpdate: [UInt8] = [24, 0, 0, 1, 0]
        keyUpdate.withUnsafeBytes { sealRaw(type: ContentType.handshake, content: $0, into: &output) }
        guard let next = writer.next() else { return false }
        writer = next
        writeSequence = 0
        return true
    }

    /// Seals one record, rotating the TLS 1.3 write key first when it has protected enough records.
    func sealRecord(type: UInt8, content: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        if version == .v1_3 && writeSequence >= Self.keyUpdateThreshold {
            guard updateWriteKey(into: &output) else {
                isClosed = true
                return
            }
        }
        sealRaw(type: type, content: content, into: &output)
    }

    /// Appends one protected record. If libcrypto fails (never expected) the partial record is removed and the
    /// layer closes rather than emit bytes a peer would reject.
    private func sealRaw(type: UInt8, content: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        guard !isClosed else { return }
        let start = output.count
        let tls13 = version == .v1_3
        let explicitLength = suite.usesExplicitNonce ? 8 : 0
        let textLength = content.count + (tls13 ? 1 : 0)
        let recordLength = explicitLength + textLength + 16
        output.reserveCapacity(start + 5 + recordLength)
        let outerType = tls13 ? ContentType.applicationData : type
        // Byte by byte: an array literal here would allocate once per record.
        output.append(outerType)
        output.append(3)
        output.append(3)
        output.append(UInt8(truncatingIfNeeded: recordLength >> 8))
        output.append(UInt8(truncatingIfNeeded: recordLength))
        for index in 0..<explicitLength {
            output.append(UInt8(truncatingIfNeeded: writeSequence >> (8 * UInt64(7 - index))))
        }
        output.append(contentsOf: content)
        if tls13 { output.append(type) }
        output.append(contentsOf: repeatElement(0, count: 16))
        let textStart = start + 5 + explicitLength
        var aad12 = Self.tls12AAD(sequence: writeSequence, type: type, length: content.count)
        let sealed = output.withUnsafeMutableBytes { record in
            withUnsafeBytes(of: &aad12) { aad12Bytes in
                let aad = tls13
                    ? UnsafeRawBufferPointer(rebasing: record[start..<start + 5])
                    : UnsafeRawBufferPointer(rebasing: aad12Bytes[0..<13])
                let text = UnsafeMutableRawBufferPointer(rebasing: record[textStart..<textStart + textLength])
                guard let base = record.baseAddress else { return false }
                return writer.seal(counter: writeSequence, aad: aad, text: text, tag: base + textStart + textLength)
            }
        }
        guard sealed, writeSequence < .max else {
            output.removeSubrange(start...)
            isClosed = true
            return
        }
        writeSequence += 1
    }
}
