import HoldfastJSON
import HoldfastTestSupport
import Testing

private func parse(_ text: String, maxDepth: Int = 64) throws(JSONError) -> JSONValue {
    try JSON.parse(text, maxDepth: maxDepth)
}

private func parseBytes(_ bytes: [UInt8], maxDepth: Int = 64) -> Result<JSONValue, JSONError> {
    Result { () throws(JSONError) -> JSONValue in try JSON.parse(bytes, maxDepth: maxDepth) }
}

@Suite struct JSONParseTests {
    @Test func parsesScalarsAndContainers() throws {
        #expect(try parse("null") == .null)
        #expect(try parse(" true ") == .bool(true))
        #expect(try parse("false") == .bool(false))
        #expect(try parse("\"hi\"") == .string("hi"))
        #expect(try parse("[1, 2 ,3]") == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(try parse("[]") == .array([]))
        #expect(try parse("{}") == .emptyObject)
        #expect(
            try parse("{\"b\":1,\"a\":[true,null],\"b\":2}")
                == .object([
                    JSONMember("b", .integer(1)), JSONMember("a", .array([.bool(true), .null])),
                    JSONMember("b", .integer(2)),
                ]))
    }

    @Test func keepsIntegersThatFitInt64AndMakesOthersDoubles() throws {
        #expect(try parse("0") == .integer(0))
        #expect(try parse("-0") == .integer(0))
        #expect(try parse("9223372036854775807") == .integer(Int64.max))
        #expect(try parse("-9223372036854775808") == .integer(Int64.min))
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808.0))
        #expect(try parse("-9223372036854775809") == .double(-9_223_372_036_854_775_808.0))
        #expect(try parse("123456789012345678901234567890") == .double(1.2345678901234568e29))
        #expect(try parse("1.5") == .double(1.5))
        #expect(try parse("-0.25e2") == .double(-25))
        #expect(try parse("1E+2") == .double(100))
        #expect(try parse("1e-400") == .double(0))
    }

    @Test func rejectsMalformedNumbers() {
        for text in ["01", "-", "-a", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "-Infinity", "1.5.3"] {
            #expect(throws: JSONError.self, "\(text)") { try parse(text) }
        }
        #expect(throws: JSONError.numberOutOfRange(offset: 0)) { try parse("1e400") }
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("01") }
    }

    @Test func decodesEveryEscape() throws {
        #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
        #expect(try parse(#""a\u00e9b\u20AC""#) == .string("aéb€"))
        #expect(try parse(#""\ud83d\ude00!""#) == .string("😀!"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try parse("\"é😀\"") == .string("é😀"))
    }

    @Test func rejectsLoneSurrogatesAndBadEscapes() {
        for text in [
            #""\ud83d""#, #""\ud83dx""#, #""\ude00""#, #""\ud83d\u0041""#, #""\x""#, #""\u12g4""#, #""\u12""#,
            #""\'""#,
        ] {
            #expect(throws: JSONError.self, "\(text)") { try parse(text) }
        }
        #expect(throws: JSONError.invalidEscape(offset: 1)) { try parse(#""\ude00""#) }
    }

    @Test func rejectsControlCharactersAndInvalidUTF8InStrings() {
        #expect(throws: JSONError.controlCharacterInString(offset: 2)) { try parse("\"a\nb\"") }
        #expect(parseBytes([0x22, 0xFF, 0x22]) == .failure(.invalidUTF8(offset: 1)))
        #expect(parseBytes([0x22, 0xC3, 0x22]) == .failure(.invalidUTF8(offset: 1)))
        #expect(parseBytes([0x22, 0xED, 0xA0, 0x80, 0x22]) == .failure(.invalidUTF8(offset: 1)))  // UTF-8 surrogate
        #expect(parseBytes([0x22, 0x5C, 0x6E, 0xC0, 0xAF, 0x22]) == .failure(.invalidUTF8(offset: 1)))  // overlong
    }

    @Test func rejectsWhatRFC8259Forbids() {
        let corpus = [
            "", " ", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a:1}", "{'a':1}", "// c\n1", "/* c */1", "tru",
            "nul", "True", "[", "{", "{\"a\"", "{\"a\":", "\"abc", "1 2", "[1]]", "\u{FEFF}1", "\u{A0}1", "[1,,2]",
            "{\"a\":1 \"b\":2}", "{1:2}",
        ]
        for text in corpus {
            #expect(throws: JSONError.self, "\(text.debugDescription)") { try parse(text) }
        }
        #expect(throws: JSONError.unexpectedEnd) { try parse("") }
        #expect(throws: JSONError.trailingData(offset: 2)) { try parse("1 2") }
    }

    @Test func limitsNestingDepth() throws {
        #expect(try parse("[[1]]", maxDepth: 2) == .array([.array([.integer(1)])]))
        #expect(throws: JSONError.tooDeep(limit: 2)) { try parse("[[[1]]]", maxDepth: 2) }
        #expect(throws: JSONError.tooDeep(limit: 2)) { try parse("{\"a\":{\"b\":{}}}", maxDepth: 2) }
        let hostile = String(repeating: "[", count: 1_000_000)
        #expect(throws: JSONError.tooDeep(limit: 64)) { try parse(hostile) }
        let deepButFine = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(deepButFine) }
    }

    @Test func neverCrashesOnRandomGarbage() {
        var generator = SplitMix(seed: 0x5EED)
        let alphabet = Array("{}[]\",:\\u0123456789abcdefnulltrue-+.eE \t\n".utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF, 0xED]
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 40)
            let bytes = (0..<count).map { _ in
                generator.next() % 4 == 0 ? UInt8(truncatingIfNeeded: generator.next()) : alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            if case .success(let value) = parseBytes(bytes) {
                #expect(parseBytes(JSON.encode(value)) == .success(value))
            }
        }
    }
}
