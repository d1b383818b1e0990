/// What a ``WebSocketConnection`` that negotiated permessage-deflate keeps for it: the agreed parameters, the
/// server's compression settings and the two zlib streams (each created with the first message that needs it).
///
/// One object made at the handshake, and only for connections that compress: a connection without deflate holds a
/// nil reference instead of the settings and two stream references inline.
final class DeflateContext {
    /// The negotiated permessage-deflate parameters.
    let parameters: PerMessageDeflateParameters
    /// Messages shorter than this are sent uncompressed.
    let minimumSizeToCompress: Int32
    let compressionLevel: Int8
    let memoryLevel: Int8
    /// Created with the first compressed message received.
    var inflater: ZlibStream?
    /// Created with the first compressed message sent (context takeover only).
    var deflater: ZlibStream?

    init(parameters: PerMessageDeflateParameters, configuration: PerMessageDeflateConfiguration) {
        self.parameters = parameters
        self.minimumSizeToCompress = Int32(clamping: configuration.minimumSizeToCompress)
        self.compressionLevel = Int8(clamping: configuration.compressionLevel)
        self.memoryLevel = Int8(clamping: configuration.memoryLevel)
    }

    /// The compressor settings for this connection's messages.
    var deflaterSettings: DeflaterPool.Settings {
        DeflaterPool.Settings(
            windowBits: Int(parameters.serverMaxWindowBits), level: Int(compressionLevel), memoryLevel: Int(memoryLevel))
    }

    /// Creates the inflater for the client's window; nil when zlib cannot.
    func makeInflater() -> ZlibStream? {
        if inflater == nil { inflater = ZlibStream(inflateWindowBits: Int(parameters.clientMaxWindowBits)) }
        return inflater
    }

    /// Creates the context-takeover compressor; nil when zlib cannot.
    func makeDeflater() -> ZlibStream? {
        if deflater == nil {
            let settings = deflaterSettings
            deflater = ZlibStream(
                deflateWindowBits: settings.windowBits, level: settings.level, memoryLevel: settings.memoryLevel)
        }
        return deflater
    }
}
