/// A protocol fault by the peer; each case maps to the close code the server sends before dropping it.
public enum WebSocketProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A client frame without the mask bit (1002).
    case unmaskedFrame
    /// RSV2/RSV3 set, or RSV1 where permessage-deflate does not allow it (1002).
    case reservedBitsSet
    /// An opcode RFC 6455 reserves (1002).
    case unknownOpcode(UInt8)
    /// A close, ping or pong frame without FIN (1002).
    case fragmentedControlFrame
    /// A control frame announcing more than 125 bytes (1002).
    case controlFrameTooLong
    /// A continuation frame with no message in progress (1002).
    case unexpectedContinuation
    /// A text or binary frame while a fragmented message is still open (1002).
    case expectedContinuation
    /// A 64-bit length with its most significant bit set (1002).
    case invalidLength
    /// A close frame with a one-byte payload (1002).
    case closePayloadTooShort
    /// A close frame with a code that may not appear on the wire (1002).
    case invalidCloseCode(UInt16)
    /// Compressed data zlib could not inflate (1007: the payload is inconsistent with the negotiated encoding).
    case invalidCompressedData
    /// A text message or close reason that is not valid UTF-8 (1007).
    case invalidUTF8
    /// zlib could not allocate a decompressor (1011).
    case compressionUnavailable
    /// A frame longer than the frame limit (1009).
    case frameTooBig
    /// A message longer than the message limit, after inflation (1009).
    case messageTooBig

    /// The close code to send for this fault.
    public var closeCode: WebSocketCloseCode {
        switch self {
        case .invalidCompressedData, .invalidUTF8: .invalidPayload
        case .frameTooBig, .messageTooBig: .messageTooBig
        case .compressionUnavailable: .internalError
        case .unmaskedFrame, .reservedBitsSet, .unknownOpcode, .fragmentedControlFrame, .controlFrameTooLong,
            .unexpectedContinuation, .expectedContinuation, .invalidLength, .closePayloadTooShort,
            .invalidCloseCode:
            .protocolError
        }
    }

    /// A short explanation, also used as the reason in the close frame.
    public var description: String {
        switch self {
        case .unmaskedFrame: "unmasked client frame"
        case .reservedBitsSet: "reserved bits set"
        case .unknownOpcode(let opcode): "unknown opcode \(opcode)"
        case .fragmentedControlFrame: "fragmented control frame"
        case .controlFrameTooLong: "control frame payload over 125 bytes"
        case .unexpectedContinuation: "continuation without a message"
        case .expectedContinuation: "new message inside a fragmented message"
        case .invalidLength: "invalid 64-bit length"
        case .closePayloadTooShort: "close payload of one byte"
        case .invalidCloseCode(let code): "invalid close code \(code)"
        case .invalidCompressedData: "invalid compressed data"
        case .invalidUTF8: "invalid UTF-8"
        case .compressionUnavailable: "decompressor unavailable"
        case .frameTooBig: "frame too big"
        case .messageTooBig: "message too big"
        }
    }
}
