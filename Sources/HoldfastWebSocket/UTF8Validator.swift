/// An incremental UTF-8 validator (RFC 3629) that carries its state across fragments, so invalid text fails on
/// the fragment where it appears rather than at the end of the message.
///
/// Rejects overlong forms, surrogates (U+D800...U+DFFF) and code points above U+10FFFF. The state is one byte.
struct UTF8Validator: Hashable, Sendable {
    /// 0: between characters; 1-3: that many continuation bytes (80...BF) due;
    /// 4: after E0 (next A0...BF); 5: after ED (next 80...9F); 6: after F0 (next 90...BF); 7: after F4 (next 80...8F).
    var state: UInt8 = 0
    /// Set once invalid input was seen; further input cannot make it valid again.
    var failed: Bool { state == 0xFF }

    /// Whether the input so far ends on a character boundary without errors.
    var isComplete: Bool { state == 0 }

    /// Feeds bytes; returns false as soon as they cannot be part of valid UTF-8.
    mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !failed else { return false }
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        var state = self.state
        while index < count {
            // ASCII runs are the common case: skip 8 bytes at a time while between characters.
            if state == 0 {
                while index + 8 <= count,
                    base.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index += 8
                }
                if index >= count { break }
            }
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            index += 1
            switch state {
            case 0:
                switch byte {
                case 0x00...0x7F: state = 0
                case 0xC2...0xDF: state = 1
                case 0xE0: state = 4
                case 0xE1...0xEC, 0xEE...0xEF: state = 2
                case 0xED: state = 5
                case 0xF0: state = 6
                case 0xF1...0xF3: state = 3
                case 0xF4: state = 7
                default: state = 0xFF
                }
            case 1, 2, 3:
                state = byte & 0xC0 == 0x80 ? state - 1 : 0xFF
            case 4:
                state = (0xA0...0xBF).contains(byte) ? 1 : 0xFF
            case 5:
                state = (0x80...0x9F).contains(byte) ? 1 : 0xFF
            case 6:
                state = (0x90...0xBF).contains(byte) ? 2 : 0xFF
            case 7:
                state = (0x80...0x8F).contains(byte) ? 2 : 0xFF
            default:
                state = 0xFF
            }
            if state == 0xFF { break }
        }
        self.state = state
        return state != 0xFF
    }

    /// Validates a complete string in one go.
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.validate(bytes) && validator.isComplete
    }
}
