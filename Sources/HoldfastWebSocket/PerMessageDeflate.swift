/// permessage-deflate settings the server is willing to use (RFC 7692).
public struct PerMessageDeflateConfiguration: Sendable, Hashable {
    /// Whether the server accepts permessage-deflate offers at all.
    public var enabled: Bool
    /// The largest LZ77 window the server compresses with, 9...15. zlib cannot produce raw deflate with an
    /// 8-bit window, so 8 is not offered.
    public var serverMaxWindowBits: Int
    /// Forces `server_no_context_takeover` even when the client did not ask: the compressor is released after
    /// every message, trading ratio for memory on idle connections.
    public var serverNoContextTakeover: Bool
    /// The zlib compression level, 0...9.
    public var compressionLevel: Int
    /// The zlib memory level, 1...9; lower values shrink the compressor's hash tables.
    public var memoryLevel: Int
    /// Messages shorter than this are sent uncompressed (RSV1 clear), which RFC 7692 allows per message.
    public var minimumSizeToCompress: Int

    /// Creates a configuration; the defaults accept deflate with a full window and context takeover.
    public init(
        enabled: Bool = true,
        serverMaxWindowBits: Int = 15,
        serverNoContextTakeover: Bool = false,
        compressionLevel: Int = 6,
        memoryLevel: Int = 8,
        minimumSizeToCompress: Int = 64
    ) {
        self.enabled = enabled
        self.serverMaxWindowBits = min(max(serverMaxWindowBits, 9), 15)
        self.serverNoContextTakeover = serverNoContextTakeover
        self.compressionLevel = min(max(compressionLevel, 0), 9)
        self.memoryLevel = min(max(memoryLevel, 1), 9)
        self.minimumSizeToCompress = max(minimumSizeToCompress, 0)
    }
}

/// The permessage-deflate parameters agreed in the handshake; a plain value, so it can be exported with the
/// connection.
public struct PerMessageDeflateParameters: Sendable, Hashable {
    /// The server resets its compressor after every message.
    public var serverNoContextTakeover: Bool
    /// The client resets its compressor after every message, so the server may drop its decompressor too.
    public var clientNoContextTakeover: Bool
    /// The window the server compresses with (9...15).
    public var serverMaxWindowBits: UInt8
    /// The window the client compresses with (8...15); 15 when the client did not limit it.
    public var clientMaxWindowBits: UInt8

    /// Creates parameters.
    public init(
        serverNoContextTakeover: Bool = false,
        clientNoContextTakeover: Bool = false,
        serverMaxWindowBits: UInt8 = 15,
        clientMaxWindowBits: UInt8 = 15
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }

    /// The `Sec-WebSocket-Extensions` response value announcing these parameters.
    public var headerValue: String {
        var value = "permessage-deflate"
        if serverNoContextTakeover { value += "; server_no_context_takeover" }
        if clientNoContextTakeover { value += "; client_no_context_takeover" }
        if serverMaxWindowBits != 15 { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        if clientMaxWindowBits != 15 { value += "; client_max_window_bits=\(clientMaxWindowBits)" }
        return value
    }
}
