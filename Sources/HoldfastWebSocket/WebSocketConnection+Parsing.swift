extension WebSocketConnection {
    /// Parses the next event from the receive buffer.
    ///
    /// Frames are unmasked in place once complete (8 bytes at a time), so `input` must be the caller's buffer of
    /// unconsumed bytes. Non-final fragments are absorbed into the message and parsing goes on with the next frame.
    /// Automatic replies go to `output`: a pong for a ping, the close reply, or a close frame for a protocol error.
    /// - Parameters:
    ///   - input: the unconsumed received bytes; consumed frames are modified (unmasked).
    ///   - output: the send buffer to append replies to.
    /// - Returns: the event and how many bytes of `input` it consumed. A payload pointer stays valid only until the
    ///   next call on this connection.
    public mutating func nextEvent(
        input: UnsafeMutableRawBufferPointer,
        output: inout [UInt8]
    ) -> (event: WebSocketEvent, consumed: Int) {
        if releaseMessageOnNextCall {
            releaseMessageOnNextCall = false
            message = nil
        }
        if finished {
            let code = WebSocketCloseCode(rawValue: finishedCode)
            return (.closed(code: code, reason: "", initiatedByPeer: false, error: nil), input.count)
        }
        guard let base = input.baseAddress else { return (.needMoreInput, 0) }
        var offset = 0
        while true {
            let available = input.count - offset
            guard available >= 2 else { return (.needMoreInput, offset) }
            let first = input[offset]
            let second = input[offset + 1]
            let fin = first & 0x80 != 0
            let rsv1 = first & 0x40 != 0
            guard first & 0x30 == 0 else { return fail(.reservedBitsSet, input: input, output: &output) }
            guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else {
                return fail(.unknownOpcode(first & 0x0F), input: input, output: &output)
            }
            guard second & 0x80 != 0 else { return fail(.unmaskedFrame, input: input, output: &output) }
            var length = UInt64(second & 0x7F)
            if opcode.isControl {
                guard fin else { return fail(.fragmentedControlFrame, input: input, output: &output) }
                guard !rsv1 else { return fail(.reservedBitsSet, input: input, output: &output) }
                guard length <= 125 else { return fail(.controlFrameTooLong, input: input, output: &output) }
            } else if rsv1 && (deflate == nil || opcode == .continuation) {
                return fail(.reservedBitsSet, input: input, output: &output)
            }
            var headerSize = 6
            if length == 126 {
                headerSize = 8
                guard available >= 4 else { return (.needMoreInput, offset) }
                length = UInt64(input[offset + 2]) << 8 | UInt64(input[offset + 3])
            } else if length == 127 {
                headerSize = 14
                guard available >= 10 else { return (.needMoreInput, offset) }
                length = 0
                for index in 2..<10 { length = length << 8 | UInt64(input[offset + index]) }
                guard length >> 63 == 0 else { return fail(.invalidLength, input: input, output: &output) }
            }
            // Checked on the header alone, so an oversized frame fails before its payload is buffered.
            guard length <= UInt64(maxFrameSize) else { return fail(.frameTooBig, input: input, output: &output) }
            let payloadLength = Int(length)
            if !opcode.isControl && !closeSent {
                if opcode == .continuation {
                    guard openMessage != nil else { return fail(.unexpectedContinuation, input: input, output: &output) }
                } else if openMessage != nil {
                    return fail(.expectedContinuation, input: input, output: &output)
                }
                let compressed = opcode == .continuation ? openMessageCompressed : rsv1
                if !compressed && (message?.count ?? 0) + payloadLength > Int(maxMessageSize) {
                    return fail(.messageTooBig, input: input, output: &output)
                }
            }
            guard available - headerSize >= payloadLength else { return (.needMoreInput, offset) }

            let key = base.loadUnaligned(fromByteOffset: offset + headerSize - 4, as: UInt32.self)
            let payload = UnsafeMutableRawBufferPointer(start: base + offset + headerSize, count: payloadLength)
            WebSocketFrame.applyMask(key, to: payload)
            let data = UnsafeRawBufferPointer(payload)
            let frameEnd = offset + headerSize + payloadLength

            switch opcode {
            case .ping:
                if !closeSent { WebSocketFrame.appendFrame(opcode: .pong, fin: true, payload: data, into: &output) }
                return (.ping(data), frameEnd)
            case .pong:
                return (.pong(data), frameEnd)
            case .close:
                return receiveClose(data, input: input, output: &output)
            case .text, .binary, .continuation:
                // After our close, data is dropped unread until the peer's close arrives.
                if closeSent {
                    offset = frameEnd
                    continue
                }
                switch receiveData(data, opcode: opcode, fin: fin, rsv1: rsv1) {
                case .absorbed:
                    offset = frameEnd
                case .message(let event):
                    return (event, frameEnd)
                case .failed(let error):
                    return fail(error, input: input, output: &output)
                }
            }
        }
    }

    /// What one data frame did to the message in progress.
    private enum DataOutcome {
        case absorbed
        case message(WebSocketEvent)
        case failed(WebSocketProtocolError)
    }

    /// Adds a complete, unmasked data frame to the message, delivering it in place when it is a whole plain message.
    private mutating func receiveData(
        _ data: UnsafeRawBufferPointer,
        opcode: WebSocketOpcode,
        fin: Bool,
        rsv1: Bool
    ) -> DataOutcome {
        if opcode != .continuation {
            openMessage = opcode
            openMessageCompressed = rsv1
            utf8 = UTF8Validator()
            // The common case: a whole uncompressed message in one frame is delivered straight from the input.
            if fin && !rsv1 {
                openMessage = nil
                if opcode == .text {
                    guard UTF8Validator.isValid(data) else { return .failed(.invalidUTF8) }
                    return .message(.text(data))
                }
                return .message(.binary(data))
            }
        }
        let isText = openMessage == .text
        let buffer = message ?? MessageBuffer()
        message = buffer
        let before = buffer.count
        if openMessageCompressed {
            if let error = inflate(data, fin: fin, into: buffer) { return .failed(error) }
        } else {
            buffer.append(data)
        }
        if isText {
            // Validate only what this frame added, so invalid text fails on the fragment that carries it.
            let added = UnsafeRawBufferPointer(rebasing: buffer.bytes[before...])
            guard utf8.validate(added), !fin || utf8.isComplete else { return .failed(.invalidUTF8) }
        }
        guard fin else { return .absorbed }
        openMessage = nil
        releaseMessageOnNextCall = true
        if openMessageCompressed, let deflate, deflate.parameters.clientNoContextTakeover, deflate.inflater != nil {
            deflate.inflater = nil
        }
        return .message(isText ? .text(buffer.bytes) : .binary(buffer.bytes))
    }

    /// Inflates one fragment of a compressed message (plus the stripped sync tail after the last one).
    private mutating func inflate(
        _ data: UnsafeRawBufferPointer,
        fin: Bool,
        into buffer: MessageBuffer
    ) -> WebSocketProtocolError? {
        // Compressed frames are refused before this point when deflate was not negotiated.
        guard let inflater = ownedDeflate()?.makeInflater() else { return .compressionUnavailable }
        let limit = Int(maxMessageSize)
        var outcome = inflater.inflate(data, into: buffer, limit: limit)
        if outcome == .ok && fin {
            outcome = ZlibStream.syncTail.withUnsafeBytes { inflater.inflate($0, into: buffer, limit: limit) }
        }
        switch outcome {
        case .ok: return nil
        case .tooBig: return .messageTooBig
        case .invalid: return .invalidCompressedData
        }
    }

    /// Handles the peer's close: validates code and reason, replies unless we closed first, and finishes.
    private mutating func receiveClose(
        _ data: UnsafeRawBufferPointer,
        input: UnsafeMutableRawBufferPointer,
        output: inout [UInt8]
    ) -> (event: WebSocketEvent, consumed: Int) {
        var code = WebSocketCloseCode.noStatusReceived
        var reason = ""
        if data.count == 1 { return fail(.closePayloadTooShort, input: input, output: &output) }
        if data.count >= 2 {
            code = WebSocketCloseCode(rawValue: UInt16(data[0]) << 8 | UInt16(data[1]))
            guard code.isValidOnWire else { return fail(.invalidCloseCode(code.rawValue), input: input, output: &output) }
            let reasonBytes = UnsafeRawBufferPointer(rebasing: data[2...])
            guard UTF8Validator.isValid(reasonBytes) else { return fail(.invalidUTF8, input: input, output: &output) }
            reason = String(decoding: reasonBytes, as: UTF8.self)
        }
        let initiatedByPeer = !closeSent
        if !closeSent {
            closeSent = true
            // Echo the peer's code, as RFC 6455 §5.5.1 suggests; an empty close gets an empty reply.
            Self.appendCloseFrame(code: code, reason: "", into: &output)
        }
        finish(code: code)
        return (.closed(code: code, reason: reason, initiatedByPeer: initiatedByPeer, error: nil), input.count)
    }

    /// Ends the connection for a protocol fault: writes our close frame (unless one was sent) and finishes.
    private mutating func fail(
        _ error: WebSocketProtocolError,
        input: UnsafeMutableRawBufferPointer,
        output: inout [UInt8]
    ) -> (event: WebSocketEvent, consumed: Int) {
        if !closeSent {
            closeSent = true
            Self.appendCloseFrame(code: error.closeCode, reason: error.description, into: &output)
        }
        finish(code: error.closeCode)
        let event = WebSocketEvent.closed(
            code: error.closeCode, reason: error.description, initiatedByPeer: false, error: error
        )
        return (event, input.count)
    }

    /// Marks the connection finished and drops zlib streams; the message buffer goes at the next call.
    mutating func finish(code: WebSocketCloseCode) {
        finished = true
        finishedCode = code.rawValue
        openMessage = nil
        releaseMessageOnNextCall = true
        if let deflate, !deflate.isShared { (deflate.inflater, deflate.deflater) = (nil, nil) }
    }
}
