import Synchronization

/// What a ``WebSocketConnection`` that negotiated permessage-deflate keeps for it: the agreed parameters, the
/// server's compression settings and the two zlib streams (each created with the first message that needs it).
///
/// One reference, and only for connections that compress: a connection without deflate holds a nil reference
/// instead of the settings and two stream references inline. Connections that negotiated server_no_context_takeover
/// start on a shared context (``forConnection(parameters:configuration:)``): their compressor comes from the pool,
/// so until a compressed message arrives they keep no zlib stream, and one object per parameter set serves them
/// all (a 48-byte chunk per joined connection before). The connection swaps in a context of its own before it
/// creates a stream (``WebSocketConnection/ownedDeflate()``).
///
/// Thread ownership: a shared context is never written (its streams stay nil), so any thread may read it; a
/// connection's own context is touched only by the thread that owns the connection. Hence `@unchecked Sendable`.
final class DeflateContext: @unchecked Sendable {
    /// The negotiated permessage-deflate parameters.
    let parameters: PerMessageDeflateParameters
    /// Messages shorter than this are sent uncompressed.
    let minimumSizeToCompress: Int32
    let compressionLevel: Int8
    let memoryLevel: Int8
    /// One of the shared contexts: never written, its streams stay nil.
    let isShared: Bool
    /// Created with the first compressed message received.
    var inflater: ZlibStream?
    /// Created with the first compressed message sent (context takeover only).
    var deflater: ZlibStream?

    init(
        parameters: PerMessageDeflateParameters, configuration: PerMessageDeflateConfiguration, isShared: Bool = false
    ) {
        self.parameters = parameters
        self.minimumSizeToCompress = Int32(clamping: configuration.minimumSizeToCompress)
        self.compressionLevel = Int8(clamping: configuration.compressionLevel)
        self.memoryLevel = Int8(clamping: configuration.memoryLevel)
        self.isShared = isShared
    }

    private init(copying shared: DeflateContext) {
        (parameters, minimumSizeToCompress) = (shared.parameters, shared.minimumSizeToCompress)
        (compressionLevel, memoryLevel, isShared) = (shared.compressionLevel, shared.memoryLevel, false)
    }

    /// The context a new connection starts with: a shared one when the server compresses without context
    /// takeover (no stream of its own is needed to send), otherwise one of its own.
    static func forConnection(
        parameters: PerMessageDeflateParameters, configuration: PerMessageDeflateConfiguration
    ) -> DeflateContext {
        guard parameters.serverNoContextTakeover else {
            return DeflateContext(parameters: parameters, configuration: configuration)
        }
        let key = SharedKey(parameters: parameters, configuration: configuration)
        return sharedContexts.withLock { contexts in
            if let context = contexts[key] { return context }
            let context = DeflateContext(parameters: parameters, configuration: configuration, isShared: true)
            // A few parameter sets in practice (the window bits a client may ask for times the configurations in
            // use); past the bound a connection gets a context of its own rather than the table growing.
            if contexts.count < Self.sharedContextLimit { contexts[key] = context }
            return context
        }
    }

    /// A context of the connection's own with the same settings and no streams.
    func unshared() -> DeflateContext { DeflateContext(copying: self) }

    /// What makes two shared contexts interchangeable.
    private struct SharedKey: Hashable {
        let parameters: PerMessageDeflateParameters
        let configuration: PerMessageDeflateConfiguration
    }

    private static let sharedContextLimit = 256
    private static let sharedContexts = Mutex<[SharedKey: DeflateContext]>([:])

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
