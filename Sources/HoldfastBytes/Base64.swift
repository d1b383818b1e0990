/// Base64 (RFC 4648) in its two alphabets: standard with `=` padding (§4, the WebSocket handshake) and base64url
/// without padding (§5, connect tokens). No Foundation.
///
/// Decoding is strict, so every byte string has exactly one accepted spelling: no whitespace, padding only where
/// the alphabet uses it and exactly as much as needed, and no stray bits in the last symbol.
public enum Base64 {
    /// Which of RFC 4648's two alphabets, and whether it pads.
    public enum Alphabet: Sendable {
        /// `+` and `/`, padded with `=` to a multiple of four symbols.
        case standard
        /// `-` and `_`, unpadded.
        case url

        fileprivate var symbols: [UInt8] {
            switch self {
            case .standard: Base64.standardSymbols
            case .url: Base64.urlSymbols
            }
        }

        fileprivate var pads: Bool { self == .standard }
    }

    private static let standardSymbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlSymbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Encodes `bytes` in `alphabet` (padded for ``Alphabet/standard``).
    public static func encode(_ bytes: some Collection<UInt8>, alphabet: Alphabet = .standard) -> String {
        let symbols = alphabet.symbols
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = second == nil ? nil : iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            out.append(symbols[Int(group >> 18 & 0x3F)])
            out.append(symbols[Int(group >> 12 & 0x3F)])
            if second != nil {
                out.append(symbols[Int(group >> 6 & 0x3F)])
            } else if alphabet.pads {
                out.append(UInt8(ascii: "="))
            }
            if third != nil {
                out.append(symbols[Int(group & 0x3F)])
            } else if alphabet.pads {
                out.append(UInt8(ascii: "="))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes canonical base64 text in `alphabet`, or returns nil if it is not exactly that.
    public static func decode(_ text: some Collection<UInt8>, alphabet: Alphabet = .standard) -> [UInt8]? {
        var symbols = Array(text)
        if alphabet.pads {
            guard symbols.count % 4 == 0 else { return nil }
            var padding = 0
            while padding < 2, symbols.last == UInt8(ascii: "=") {
                symbols.removeLast()
                padding += 1
            }
        }
        // A single leftover symbol cannot encode a whole byte.
        guard symbols.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(symbols.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for symbol in symbols {
            guard let value = value(of: symbol, alphabet: alphabet) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // Leftover bits must be zero, or two spellings would decode to the same bytes.
        guard accumulator == 0 else { return nil }
        return out
    }

    /// The 6-bit value of a symbol of `alphabet`, or nil for anything else (padding included).
    public static func value(of symbol: UInt8, alphabet: Alphabet = .standard) -> UInt8? {
        switch symbol {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): symbol - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): symbol - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): symbol - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+") where alphabet == .standard: 62
        case UInt8(ascii: "/") where alphabet == .standard: 63
        case UInt8(ascii: "-") where alphabet == .url: 62
        case UInt8(ascii: "_") where alphabet == .url: 63
        default: nil
        }
    }
}
