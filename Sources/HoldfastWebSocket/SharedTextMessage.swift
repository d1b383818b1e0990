/// A text message sent as is to many connections: its complete unmasked frame, copied into the output of every
/// connection that does not compress, and its body, compressed at most once for every connection that negotiated
/// no context takeover (``SharedDeflate``).
///
/// A small message goes to compressing connections as the same ready-made frame, uncompressed (RSV1 clear, which
/// RFC 7692 allows for any message): compressing it saves a few dozen bytes but costs every member its own frame
/// header and copy, where the plain frame joins the run of frames each member takes with one append.
public struct SharedTextMessage: Sendable {
    /// Bodies shorter than this go to every connection uncompressed (see ``sendsPlain``).
    public static let plainBelow = 512
    /// The body, for connections that compress.
    public let payload: SharedDeflate
    /// The whole unmasked frame, for connections that do not, and for all of them when ``sendsPlain``.
    public let frame: [UInt8]
    /// Whether every connection gets ``frame``, compressing or not: the body is shorter than ``plainBelow``.
    public var sendsPlain: Bool { payload.bodyCount < Self.plainBelow }

    /// Frames `text` and prepares its compression at zlib `deflateLevel`.
    public init(text: [UInt8], deflateLevel: Int) {
        var frame: [UInt8] = []
        text.withUnsafeBytes { WebSocketFrame.appendFrame(opcode: .text, fin: true, payload: $0, into: &frame) }
        self.frame = frame
        payload = SharedDeflate(body: text, level: deflateLevel)
    }
}

/// One message encoded in a few variants (one per serializer version, say), each a ``SharedTextMessage``: a class,
/// so handing it to many connections copies no buffers.
public final class SharedTextVariants: Sendable {
    private let variants: [SharedTextMessage?]
    /// Whether a connection with nothing queued writes this message at once, while the fan-out has the connection
    /// at hand, rather than queueing it for the loop's flush (see ``SharedFrameRun/lonePlainFrame(variant:)``).
    /// For a message that goes out alone (a presence diff): queued, it waits for the flush, which visits every
    /// member a second time for what is almost always that message's write alone.
    public let writtenAtOnce: Bool

    /// Variant `i` from `texts[i]`; nil where no connection reads that variant.
    public init(_ texts: [[UInt8]?], deflateLevel: Int, writtenAtOnce: Bool = false) {
        variants = texts.map { text in text.map { SharedTextMessage(text: $0, deflateLevel: deflateLevel) } }
        self.writtenAtOnce = writtenAtOnce
    }

    /// Variant `index`, if it was made.
    public func variant(_ index: Int) -> SharedTextMessage? { index < variants.count ? variants[index] : nil }

    /// Whether variant `index` exists and goes compressed to connections that compress (it is not small).
    public func compressible(_ index: Int) -> Bool { variant(index)?.sendsPlain == false }
}
