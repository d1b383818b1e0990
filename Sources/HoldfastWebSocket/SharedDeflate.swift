public import HoldfastBytes
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
///
/// A body may also be made of pieces kept from one message to the next (``init(pieces:opening:separator:closing:level:)``):
/// each piece is compressed on its own and its compression kept with it, so a large body of which little changed
/// since the last message costs the compression of the changed pieces only.
public final class SharedDeflate: Sendable {
    /// The number of bytes in ``body``.
    public let bodyCount: Int
    /// The body of a message made whole; nil for one made of pieces (joined on demand).
    private let whole: [UInt8]?
    private let pieces: [SharedBytes]
    /// Before the first piece, between pieces, after the last (with `opening` first when there is no piece).
    private let opening: UInt8, separator: UInt8, closing: [UInt8]
    private let level: Int
    private let compressed = Mutex<[Int: [UInt8]]>([:])

    /// The uncompressed body.
    public var body: [UInt8] {
        if let whole { return whole }
        var joined: [UInt8] = []
        joined.reserveCapacity(bodyCount)
        for (index, piece) in pieces.enumerated() {
            joined.append(index == 0 ? opening : separator)
            joined.append(contentsOf: piece.bytes)
        }
        if pieces.isEmpty { joined.append(opening) }
        joined.append(contentsOf: closing)
        return joined
    }

    /// Wraps `body`; nothing is compressed until a connection needs it.
    /// - Parameter level: the zlib level (0...9); paid once per message, so a high level is affordable.
    public init(body: [UInt8], level: Int) {
        self.whole = body
        self.bodyCount = body.count
        self.pieces = []
        (opening, separator, closing) = (0, 0, [])
        self.level = min(max(level, 0), 9)
    }

    /// A body `opening + pieces[0] + separator + pieces[1] + ... + closing` (`opening + closing` without pieces),
    /// such as a JSON object whose members come in kept runs. Nothing is joined or compressed until needed.
    public init(pieces: [SharedBytes], opening: UInt8, separator: UInt8, closing: [UInt8], level: Int) {
        self.whole = nil
        self.pieces = pieces
        (self.opening, self.separator, self.closing) = (opening, separator, closing)
        self.bodyCount = max(pieces.count, 1) + pieces.reduce(0) { $0 + $1.count } + closing.count
        self.level = min(max(level, 0), 9)
    }

    /// The body as raw deflate ending in a sync flush with its 4-byte tail removed (RFC 7692 §7.2.1), for a
    /// window of `windowBits`; nil when zlib cannot allocate a compressor (the caller then sends it plain).
    public func compressed(windowBits: Int) -> [UInt8]? {
        compressed.withLock { cache in
            if let bytes = cache[windowBits] { return bytes }
            guard var output = whole.map({ Self.deflate($0, windowBits: windowBits, level: level) })
                ?? compressedPieces(windowBits: windowBits) else { return nil }
            if output.count >= 4, output.suffix(4).elementsEqual(ZlibStream.syncTail) { output.removeLast(4) }
            cache[windowBits] = output
            return output
        }
    }

    /// Each piece with the byte before it, compressed on its own (or taken from the piece's kept forms), then the
    /// closing bytes. Each part ends in a sync flush, on a byte boundary and referring to nothing before it, so the
    /// parts decode as one stream.
    private func compressedPieces(windowBits: Int) -> [UInt8]? {
        var output: [UInt8] = []
        for (index, piece) in pieces.enumerated() {
            let lead = index == 0 ? opening : separator
            let key = windowBits << 16 | level << 8 | Int(lead)
            // The compressed piece stands in for its text (a kept chunk's text is about 13 times its compression);
            // a reader of the text gets it back by inflating the piece.
            guard let part = piece.form(
                key, make: { Self.deflate([lead] + $0, windowBits: windowBits, level: level) },
                standingInWith: Self.inflateDroppingLead)
            else { return nil }
            output.append(contentsOf: part)
        }
        guard let last = Self.deflate((pieces.isEmpty ? [opening] : []) + closing, windowBits: windowBits, level: level)
        else { return nil }
        output.append(contentsOf: last)
        return output
    }

    /// A piece's compressed part inflated back: the `count` bytes after its lead byte, or nil when it does not
    /// inflate to exactly that many (or zlib cannot allocate an inflater).
    @Sendable static func inflateDroppingLead(_ part: [UInt8], count: Int) -> [UInt8]? {
        guard let stream = ZlibStream(inflateWindowBits: 15) else { return nil }
        let buffer = MessageBuffer()
        buffer.reserveFree(count + 1)
        let outcome = part.withUnsafeBytes { stream.inflate($0, into: buffer, limit: count + 1) }
        guard outcome == .ok, buffer.count == count + 1 else { return nil }
        return Array(buffer.bytes.dropFirst())
    }

    /// `bytes` as raw deflate ending in a sync flush (tail included); nil when zlib fails.
    private static func deflate(_ bytes: [UInt8], windowBits: Int, level: Int) -> [UInt8]? {
        // Memory level 9: one compression per message, so the larger hash table costs nothing per connection
        // and finds more matches.
        let settings = DeflaterPool.Settings(windowBits: windowBits, level: level, memoryLevel: 9)
        guard let stream = DeflaterPool.shared.take(settings) else { return nil }
        defer { DeflaterPool.shared.give(stream, settings) }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count / 4 + 64)
        let ok = bytes.withUnsafeBytes { stream.deflate($0, appendingTo: &output) }
        return ok ? output : nil
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
