import CZlib
import Glibc

/// Decodes permessage-deflate messages a server sent without context takeover, each distinct compressed body
/// once per client loop.
///
/// A loop emulating thousands of clients receives the same broadcast thousands of times; a real client inflates
/// its one copy, so inflating every copy here would measure the load generator, not the server. Messages without
/// context takeover decode alone, so equal bytes always decode to equal text: the cache keys on the compressed
/// bytes and proves every hit byte for byte. A message may open with stored (uncompressed) deflate blocks, which
/// is how a server puts a per-member envelope in front of a shared body; those are read directly and the rest is
/// looked up. When the rest does not decode on its own (it refers back into the stored part), the whole message
/// is inflated and nothing is cached.
final class InflateCache {
    /// One decoded body, with the presence effects computed from it so far (by payload offset).
    final class Entry {
        let compressed: [UInt8]
        let text: [UInt8]
        var effects: [Int: PresenceEffect] = [:]

        init(compressed: [UInt8], text: [UInt8]) {
            self.compressed = compressed
            self.text = text
        }
    }

    /// What a presence payload does to a view: the users it adds and removes, as bitsets over user numbers.
    struct PresenceEffect {
        var present: [UInt64]
        var absent: [UInt64]?
        var malformed = false
        /// The send time a joining ``PresenceProbe`` put in its meta, if the payload holds one.
        var probeSentAt: UInt64?
    }

    private var entries: [Int: [Entry]] = [:]
    private var order: [Int] = []
    private let capacity: Int
    /// Decoded bodies served from the cache, and decoded by inflating.
    private(set) var hits = 0
    private(set) var misses = 0

    init(capacity: Int = 256) { self.capacity = capacity }

    /// The message's stored-block prefix and its decoded body; nil when the bytes are not valid deflate.
    func decode(_ message: UnsafeRawBufferPointer) -> (prefix: [UInt8], body: Entry)? {
        var prefix: [UInt8] = []
        var offset = 0
        // Leading non-final stored blocks: header byte 0 (BFINAL 0, BTYPE 00, padding), LEN, NLEN, LEN bytes.
        while offset + 5 <= message.count, message[offset] == 0 {
            let length = Int(message[offset + 1]) | Int(message[offset + 2]) << 8
            let check = Int(message[offset + 3]) | Int(message[offset + 4]) << 8
            guard length ^ check == 0xFFFF, offset + 5 + length <= message.count else { return nil }
            prefix.append(contentsOf: message[(offset + 5)..<(offset + 5 + length)])
            offset += 5 + length
        }
        let rest = UnsafeRawBufferPointer(rebasing: message[offset...])
        let key = Self.key(rest)
        if let found = entries[key]?.first(where: { $0.compressed.withUnsafeBytes { Self.same($0, rest) } }) {
            hits += 1
            return (prefix, found)
        }
        misses += 1
        guard let text = Self.inflate(rest) else {
            // Back references into the stored part: only the whole message decodes.
            guard let whole = Self.inflate(message) else { return nil }
            return ([], Entry(compressed: [], text: whole))
        }
        let entry = Entry(compressed: Array(rest), text: text)
        entries[key, default: []].append(entry)
        order.append(key)
        if order.count > capacity {
            let old = order.removeFirst()
            entries[old]?.removeFirst()
            if entries[old]?.isEmpty == true { entries[old] = nil }
        }
        return (prefix, entry)
    }

    private static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        guard let left = a.baseAddress, let right = b.baseAddress else { return true }
        return memcmp(left, right, a.count) == 0
    }

    /// A cheap key (length and both ends); hits are confirmed on the full bytes.
    private static func key(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes.count)
        hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: bytes.prefix(64)))
        hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: bytes.suffix(64)))
        return hasher.finalize()
    }

    /// Inflates one message (RFC 7692: the stripped 00 00 FF FF tail restored) with a fresh raw inflater.
    static func inflate(_ compressed: UnsafeRawBufferPointer) -> [UInt8]? {
        var stream = z_stream()
        guard holdfast_inflateInit2(&stream, -15) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = Array(compressed)
        input.append(contentsOf: [0, 0, 0xFF, 0xFF])
        var output: [UInt8] = []
        var chunk = max(4096, input.count * 4)
        return input.withUnsafeMutableBufferPointer { source -> [UInt8]? in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            while true {
                let start = output.count
                output.append(contentsOf: repeatElement(0, count: chunk))
                let status = output.withUnsafeMutableBufferPointer { target -> Int32 in
                    stream.next_out = target.baseAddress! + start
                    stream.avail_out = UInt32(chunk)
                    return CZlib.inflate(&stream, Z_SYNC_FLUSH)
                }
                output.removeLast(Int(stream.avail_out))
                switch status {
                case Z_OK, Z_BUF_ERROR:
                    if stream.avail_in == 0 && stream.avail_out > 0 { return output }
                    if status == Z_BUF_ERROR && stream.avail_out > 0 { return nil }
                case Z_STREAM_END:
                    return stream.avail_in == 0 ? output : nil
                default:
                    return nil
                }
                chunk *= 2
            }
        }
    }
}
