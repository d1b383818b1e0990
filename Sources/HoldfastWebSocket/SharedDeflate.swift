import Synchronization

/// A message body compressed once for every connection that negotiated `server_no_context_takeover`.
///
/// Without context takeover a compressed message refers to nothing sent before it, so the same bytes are valid
/// on every such connection: a broadcast to 10,000 compressing members costs one deflate instead of 10,000. The
/// compressed form is made the first time a connection asks for it (on whichever event loop that is) and kept per
/// window size, since a client that negotiated a smaller `server_max_window_bits` cannot follow longer distances.
///
/// A message may start with a short per-connection prefix (a Phoenix envelope naming the member's join_ref); the
/// prefix travels in a deflate *stored* block ahead of the shared bytes (see
/// ``WebSocketConnection/appendMessage(prefix:shared:opcode:into:)``).
public final class SharedDeflate: Sendable {
    /// The uncompressed body.
    public let body: [UInt8]
    private let level: Int
    private let compressed = Mutex<[Int: [UInt8]]>([:])

    /// Wraps `body`; nothing is compressed until a connection needs it.
    /// - Parameter level: the zlib level (0...9); paid once per message, so a high level is affordable.
    public init(body: [UInt8], level: Int) {
        self.body = body
        self.level = min(max(level, 0), 9)
    }

    /// The body as raw deflate ending in a sync flush with its 4-byte tail removed (RFC 7692 §7.2.1), for a
    /// window of `windowBits`; nil when zlib cannot allocate a compressor (the caller then sends it plain).
    public func compressed(windowBits: Int) -> [UInt8]? {
        compressed.withLock { cache in
            if let bytes = cache[windowBits] { return bytes }
            // Memory level 9: one compression per message, so the larger hash table costs nothing per connection
            // and finds more matches.
            let settings = DeflaterPool.Settings(windowBits: windowBits, level: level, memoryLevel: 9)
            guard let stream = DeflaterPool.shared.take(settings) else { return nil }
            defer { DeflaterPool.shared.give(stream, settings) }
            var output: [UInt8] = []
            output.reserveCapacity(body.count / 4 + 64)
            let ok = body.withUnsafeBytes { stream.deflate($0, appendingTo: &output) }
            guard ok else { return nil }
            if output.count >= 4, output.suffix(4).elementsEqual(ZlibStream.syncTail) { output.removeLast(4) }
            cache[windowBits] = output
            return output
        }
    }

    /// Appends `prefix` as one or more non-final deflate stored blocks. Stored blocks start and end on a byte
    /// boundary, so the shared stream that follows decodes as if it stood alone.
    static func appendStoredBlocks(_ prefix: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        var offset = 0
        while offset < prefix.count {
            let length = min(prefix.count - offset, 0xFFFF)
            // BFINAL = 0, BTYPE = 00 (stored), then padding to the byte boundary: one zero byte.
            output.append(0)
            output.append(UInt8(length & 0xFF))
            output.append(UInt8(length >> 8))
            output.append(UInt8(~length & 0xFF))
            output.append(UInt8((~length >> 8) & 0xFF))
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: prefix[offset..<(offset + length)]))
            offset += length
        }
    }
}
