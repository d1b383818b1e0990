/// Builds `phx_ref` strings: the state's prefix followed by a counter in base 62, most significant digit first.
///
/// Without leading zeros each counter value has exactly one spelling, so refs under one prefix never repeat.
/// Refs from different prefixes stay apart as long as no prefix is a proper prefix of another prefix's ref; the
/// server keeps that true by choosing prefixes of one fixed length (or ending them in a character outside the
/// base-62 alphabet, such as `.`).
enum PresenceRef {
    /// The base-62 alphabet, in ASCII order so refs of equal length also sort by counter.
    private static let digits: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// The ref for counter value `number` under `prefix`.
    static func make(prefix: String, number: UInt64) -> String {
        // 62^11 > 2^64, so eleven digits always suffice.
        var scratch: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &scratch) { buffer in
            var value = number
            var start = 11
            repeat {
                start -= 1
                buffer[start] = digits[Int(value % 62)]
                value /= 62
            } while value > 0
            let suffix = String(decoding: buffer[start..<11], as: UTF8.self)
            return prefix + suffix
        }
    }
}
