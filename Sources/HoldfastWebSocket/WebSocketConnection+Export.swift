/// Everything a ``WebSocketConnection`` knows, as plain values, so another process can continue the connection
/// (a redeploy hands connections over instead of dropping them).
///
/// zlib contexts travel as their windows: after a sync flush a raw deflate stream is byte-aligned between
/// messages, so the last 32 KiB of history is all the next message can refer to.
public struct WebSocketConnectionState: Sendable, Hashable {
    /// The connection's limits.
    public var limits: WebSocketLimits
    /// The negotiated permessage-deflate parameters.
    public var deflate: PerMessageDeflateParameters?
    /// Messages shorter than this are sent uncompressed.
    public var minimumSizeToCompress: Int
    /// The zlib compression level.
    public var compressionLevel: Int
    /// The zlib memory level.
    public var memoryLevel: Int
    /// Whether our close frame was already sent.
    public var closeSent: Bool
    /// The opcode of a partly received (uncompressed) fragmented message.
    public var openMessage: WebSocketOpcode?
    /// The UTF-8 validator state of that message.
    public var utf8State: UInt8
    /// The bytes of that message received so far.
    public var partialMessage: [UInt8]
    /// The decompressor's window, nil when no decompressor exists.
    public var inflateWindow: [UInt8]?
    /// The compressor's window, nil when no compressor exists.
    public var deflateWindow: [UInt8]?

    /// Creates a state from its parts (as read back from a handoff record).
    public init(
        limits: WebSocketLimits, deflate: PerMessageDeflateParameters?, minimumSizeToCompress: Int,
        compressionLevel: Int, memoryLevel: Int, closeSent: Bool, openMessage: WebSocketOpcode?, utf8State: UInt8,
        partialMessage: [UInt8], inflateWindow: [UInt8]?, deflateWindow: [UInt8]?
    ) {
        self.limits = limits
        self.deflate = deflate
        self.minimumSizeToCompress = minimumSizeToCompress
        self.compressionLevel = compressionLevel
        self.memoryLevel = memoryLevel
        self.closeSent = closeSent
        self.openMessage = openMessage
        self.utf8State = utf8State
        self.partialMessage = partialMessage
        self.inflateWindow = inflateWindow
        self.deflateWindow = deflateWindow
    }
}

extension WebSocketConnection {
    /// Whether ``exportState()`` would succeed now (cheap: copies nothing).
    public var isExportable: Bool { !finished && (openMessage == nil || !openMessageCompressed) }

    /// Captures the connection's state for another process.
    ///
    /// Call it between events, after the caller is done with the last payload. Returns nil when the state cannot
    /// be captured exactly: after the closed event, or while a compressed message is half received (the inflater
    /// then sits mid-block; wait for the message or close with ``WebSocketCloseCode/serviceRestart``).
    /// Unconsumed received bytes stay with the caller and must travel with this state.
    public func exportState() -> WebSocketConnectionState? {
        guard isExportable else { return nil }
        var partial: [UInt8] = []
        if openMessage != nil, !releaseMessageOnNextCall, let message { partial = Array(message.bytes) }
        // Without deflate the compression settings mean nothing to the importer; the defaults fill their fields.
        let settings = PerMessageDeflateConfiguration()
        return WebSocketConnectionState(
            limits: limits, deflate: deflateParameters,
            minimumSizeToCompress: deflate.map { Int($0.minimumSizeToCompress) } ?? settings.minimumSizeToCompress,
            compressionLevel: deflate.map { Int($0.compressionLevel) } ?? settings.compressionLevel,
            memoryLevel: deflate.map { Int($0.memoryLevel) } ?? settings.memoryLevel, closeSent: closeSent,
            openMessage: openMessage, utf8State: utf8.state, partialMessage: partial,
            inflateWindow: deflate?.inflater?.dictionary(), deflateWindow: deflate?.deflater?.dictionary()
        )
    }

    /// Recreates a connection from ``exportState()`` output; it continues exactly where the exporter stopped.
    public init(importing state: WebSocketConnectionState) {
        self.init(
            limits: state.limits, deflate: state.deflate,
            deflateConfiguration: PerMessageDeflateConfiguration(
                enabled: state.deflate != nil, compressionLevel: state.compressionLevel,
                memoryLevel: state.memoryLevel, minimumSizeToCompress: state.minimumSizeToCompress
            )
        )
        closeSent = state.closeSent
        if let opcode = state.openMessage, opcode == .text || opcode == .binary {
            openMessage = opcode
            utf8 = UTF8Validator(state: state.utf8State)
            let buffer = MessageBuffer()
            state.partialMessage.withUnsafeBytes { buffer.append($0) }
            message = buffer
        }
        if let window = state.inflateWindow {
            ownedDeflate()?.makeInflater()?.setDictionary(window)
        }
        if let window = state.deflateWindow {
            ownedDeflate()?.makeDeflater()?.setDictionary(window)
        }
    }
}
