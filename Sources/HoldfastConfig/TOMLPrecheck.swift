/// Finds the malformed TOML that TOMLKit's parser (toml++ 3.4) cannot be given: a table header whose first key
/// character is neither a bare-key character nor a quote (`[=`, `[é]`, a `[` alone on a line), and an array
/// element that cannot start a value (`a = [}`, `a = [1, }`).
///
/// toml++ asserts those characters' kinds (aborting a debug build) and, in an optimized build, tells the compiler
/// to assume them, so such a document is undefined behaviour rather than a parse error. It is never valid TOML,
/// so the loader refuses it before TOMLKit sees it. Strings and comments are skipped and a `[` that starts a line
/// inside a multi-line array is not a header, so no valid document is refused.
enum TOMLPrecheck {
    /// What is wrong where.
    struct Finding: Equatable {
        /// 1-based.
        var line: Int
        var reason: String
    }

    static let headerReason = "a table header must start with a key"
    static let elementReason = "an array element must be a value"

    /// The first such header or array element in `text`, or nil.
    static func firstFinding(in text: String) -> Finding? {
        let bytes = Array(text.utf8)
        var index = 0
        var line = 1
        // Open `[` and `{` of values (arrays may span lines); a header is only possible when none is open.
        var open: [UInt8] = []
        // Inside an array, after its `[` or a `,`: the next significant character starts an element.
        var awaitingElement = false
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        var atLineStart = true
        while index < bytes.count {
            if atLineStart {
                atLineStart = false
                while index < bytes.count, bytes[index] == space || bytes[index] == tab { index += 1 }
                if open.isEmpty, index < bytes.count, bytes[index] == openBracket {
                    var next = index + 1
                    if next < bytes.count, bytes[next] == openBracket { next += 1 }
                    while next < bytes.count, bytes[next] == space || bytes[next] == tab { next += 1 }
                    if next < bytes.count, !startsKeyOrClosesHeader(bytes[next]) {
                        return Finding(line: line, reason: headerReason)
                    }
                    // The header's own brackets are balanced on its line; skip them here.
                    while index < bytes.count, bytes[index] != newline, bytes[index] != hash,
                        bytes[index] != quote, bytes[index] != apostrophe
                    {
                        index += 1
                    }
                }
                continue
            }
            let byte = bytes[index]
            if awaitingElement, byte != space, byte != tab, byte != newline, byte != carriageReturn, byte != hash {
                awaitingElement = false
                if !startsElementOrClosesArray(byte) { return Finding(line: line, reason: elementReason) }
            }
            switch byte {
            case newline:
                line += 1
                atLineStart = true
                index += 1
            case hash:
                while index < bytes.count, bytes[index] != newline { index += 1 }
            case quote, apostrophe:
                index = skipString(bytes, from: index, line: &line)
            case openBracket:
                open.append(openBracket)
                awaitingElement = true
                index += 1
            case openBrace:
                open.append(openBrace)
                index += 1
            case closeBracket, closeBrace:
                _ = open.popLast()
                index += 1
            case comma:
                awaitingElement = open.last == openBracket
                index += 1
            default:
                index += 1
            }
        }
        return nil
    }

    /// The index after the string that starts at `start` (basic or literal, single- or multi-line), counting
    /// the lines a multi-line string spans. An unterminated single-line string ends at its line's end.
    private static func skipString(_ bytes: [UInt8], from start: Int, line: inout Int) -> Int {
        let delimiter = bytes[start]
        let basic = delimiter == quote
        let triple = start + 2 < bytes.count && bytes[start + 1] == delimiter && bytes[start + 2] == delimiter
        var index = start + (triple ? 3 : 1)
        while index < bytes.count {
            let byte = bytes[index]
            if basic && byte == backslash {
                if index + 1 < bytes.count, bytes[index + 1] == newline { line += 1 }
                index += 2
                continue
            }
            if byte == newline {
                guard triple else { return index }
                line += 1
            }
            if byte == delimiter {
                if !triple { return index + 1 }
                if index + 2 < bytes.count, bytes[index + 1] == delimiter, bytes[index + 2] == delimiter {
                    // Up to two more delimiters may end the content (`""""` closes after one quote of content).
                    var end = index + 3
                    while end < bytes.count, end < index + 5, bytes[end] == delimiter { end += 1 }
                    return end
                }
            }
            index += 1
        }
        return index
    }

    /// What can start a TOML value (string, number, date, boolean, inf, nan, array, inline table), or the `,`
    /// and `]` that toml++ reports itself.
    private static func startsElementOrClosesArray(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "t"),
            UInt8(ascii: "f"), UInt8(ascii: "i"), UInt8(ascii: "n"), quote, apostrophe, openBracket, openBrace,
            comma, closeBracket:
            true
        default:
            false
        }
    }

    /// A bare-key character (A-Z a-z 0-9 _ -), a quote, or the `]` of an empty header (which toml++ reports).
    private static func startsKeyOrClosesHeader(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"),
            quote, apostrophe, closeBracket:
            true
        default:
            false
        }
    }

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let newline = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let comma = UInt8(ascii: ",")
    private static let hash = UInt8(ascii: "#")
    private static let quote = UInt8(ascii: "\"")
    private static let apostrophe = UInt8(ascii: "'")
    private static let backslash = UInt8(ascii: "\\")
    private static let openBracket = UInt8(ascii: "[")
    private static let closeBracket = UInt8(ascii: "]")
    private static let openBrace = UInt8(ascii: "{")
    private static let closeBrace = UInt8(ascii: "}")
}
