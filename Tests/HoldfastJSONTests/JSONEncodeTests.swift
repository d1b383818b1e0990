import HoldfastJSON
import Testing

private func encoded(_ value: JSONValue) -> String {
    String(decoding: JSON.encode(value), as: UTF8.self)
}

@Suite struct JSONEncodeTests {
    @Test func writesCompactJSONInMemberOrder() {
        let value = JSONValue.object([
            JSONMember("z", .array([.null, .bool(true), .bool(false)])), JSONMember("a", .integer(-42)),
            JSONMember("s", .string("hi")), JSONMember("o", .emptyObject), JSONMember("e", .array([])),
        ])
        #expect(encoded(value) == #"{"z":[null,true,false],"a":-42,"s":"hi","o":{},"e":[]}"#)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(encoded(.string("a\"b\\c/")) == #""a\"b\\c/""#)
        #expect(encoded(.string("\n\r\t\u{8}\u{C}\u{0}\u{1F}")) == #""\n\r\t\b\f\u0000\u001f""#)
        #expect(encoded(.string("é😀\u{2028}")) == "\"é😀\u{2028}\"")
    }

    @Test func writesIntegerExtremes() {
        #expect(encoded(.integer(Int64.min)) == "-9223372036854775808")
        #expect(encoded(.integer(Int64.max)) == "9223372036854775807")
        #expect(encoded(.integer(0)) == "0")
    }

    @Test func writesDoublesSoTheyReadBackExactly() throws {
        #expect(encoded(.double(1)) == "1.0")
        #expect(encoded(.double(0.1)) == "0.1")
        #expect(encoded(.double(1e21)) == "1e+21")
        #expect(encoded(.double(.nan)) == "null")
        #expect(encoded(.double(.infinity)) == "null")
        for number in [0.1, -2.5e-300, 1.7976931348623157e308, Double.leastNonzeroMagnitude, 123456.789, 1e16] {
            #expect(try JSON.parse(JSON.encode(.double(number))) == .double(number))
        }
    }

    @Test func roundTripsNestedValues() throws {
        let text = #"{"a":[1,-2.5,"x\u0001y",{"b":null}],"c":"\ud83d\ude00","d":9223372036854775807}"#
        let value = try JSON.parse(text)
        #expect(try JSON.parse(JSON.encode(value)) == value)
        #expect(encoded(value) == "{\"a\":[1,-2.5,\"x\\u0001y\",{\"b\":null}],\"c\":\"😀\",\"d\":9223372036854775807}")
    }
}
