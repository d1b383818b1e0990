/// The message format of `holdfast-bench broadcast --raw`, for a plain WebSocket relay that sends every message it
/// receives to every client connected to it (the publisher included), unchanged.
///
/// A message is the text `<16 hex digits of send time>:<publisher number>:<ref>:`, padded with `x` to `--size`
/// bytes. Subscribers time it against the send time; the publisher takes its own copy as the acknowledgement (a
/// relay has nothing else to answer with), matched by its number and ref.
enum RawBroadcast {
    /// One message from publisher `publisher`, its `ref`-th, stamped `sentAt`, at least `size` bytes long.
    static func message(publisher: Int, ref: UInt64, sentAt: UInt64, size: Int) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(max(size, 40))
        let digits = Array("0123456789abcdef".utf8)
        for shift in stride(from: 60, through: 0, by: -4) { text.append(digits[Int(sentAt >> UInt64(shift) & 0xF)]) }
        text.append(contentsOf: ":\(publisher):\(ref):".utf8)
        text.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: max(0, size - text.count)))
        return text
    }

    /// The send time, publisher number and ref of a message; nil when it is not one of
    /// ``message(publisher:ref:sentAt:size:)``.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> (sentAt: UInt64, publisher: UInt64, ref: UInt64)? {
        guard let sentAt = PhoenixScan.hex16(bytes, at: 0), bytes.count > 16, bytes[16] == UInt8(ascii: ":"),
              let (publisher, next) = field(bytes, from: 17), let (ref, _) = field(bytes, from: next)
        else { return nil }
        return (sentAt, publisher, ref)
    }

    /// The decimal number from `start` up to the next `:`, and the offset after that colon.
    private static func field(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (UInt64, Int)? {
        var end = start
        while end < bytes.count, end - start <= 19, bytes[end] != UInt8(ascii: ":") { end += 1 }
        guard end < bytes.count, let value = PhoenixScan.decimal(bytes, start..<end) else { return nil }
        return (value, end + 1)
    }
}
