import HoldfastBytes
import Testing

@Suite struct ByteCodecTests {
    @Test func varintsTakeOneByteBelow128AndTenAtMost() throws {
        for (value, size) in [(UInt64(0), 1), (127, 1), (128, 2), (16_383, 2), (16_384, 3), (UInt64.max, 10)] {
            var writer = ByteWriter()
            writer.unsigned(value)
            #expect(writer.bytes.count == size)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.unsigned() == value)
            #expect(reader.isAtEnd)
        }
    }

    @Test func zigzagKeepsSmallNegativeNumbersShort() {
        #expect(ZigZag.encode(0) == 0)
        #expect(ZigZag.encode(-1) == 1)
        #expect(ZigZag.encode(1) == 2)
        #expect(ZigZag.encode(-2) == 3)
        for value in [Int64.min, -1_000_000, -1, 0, 1, 1_000_000, Int64.max] {
            #expect(ZigZag.decode(ZigZag.encode(value)) == value)
        }
    }

    @Test func everyPrimitiveRoundTrips() throws {
        var writer = ByteWriter()
        writer.byte(7)
        writer.bool(true)
        writer.signed(-42)
        writer.int(Int.max)
        writer.fixed64(0x0102_0304_0506_0708)
        writer.data([1, 2, 3])
        writer.string("héllo")
        writer.optionalString(nil)
        writer.optionalString("x")
        writer.optionalData([9])
        var reader = ByteReader(writer.bytes)
        #expect(try reader.byte() == 7)
        #expect(try reader.bool())
        #expect(try reader.signed() == -42)
        #expect(try reader.int() == Int.max)
        #expect(try reader.fixed64() == 0x0102_0304_0506_0708)
        #expect(try reader.data() == [1, 2, 3])
        #expect(try reader.string() == "héllo")
        #expect(try reader.optionalString() == nil)
        #expect(try reader.optionalString() == "x")
        #expect(try reader.optionalData() == [9])
        try reader.expectEnd()
    }

    @Test func inputCutAtEveryOffsetThrowsInsteadOfTrapping() {
        var writer = ByteWriter()
        writer.unsigned(UInt64.max)
        writer.string("a longer string than one byte")
        writer.fixed64(1)
        writer.optionalData([1, 2, 3, 4])
        let whole = writer.bytes
        for cut in 0..<whole.count {
            var reader = ByteReader(Array(whole[..<cut]))
            #expect(throws: ByteReadError.self) {
                _ = try reader.unsigned()
                _ = try reader.string()
                _ = try reader.fixed64()
                _ = try reader.optionalData()
            }
        }
    }

    @Test func damagedInputGetsATypedError() {
        var overlong = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02])
        #expect(throws: ByteReadError.varintOverflow(at: 0)) { try overlong.unsigned() }
        var flag = ByteReader([2])
        #expect(throws: ByteReadError.invalidFlag(2, at: 0)) { try flag.bool() }
        var utf8 = ByteReader([2, 0xC3, 0x28])
        #expect(throws: ByteReadError.invalidUTF8(at: 0)) { try utf8.string() }
        // A count larger than what is left must not size an allocation.
        var huge = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1])
        #expect(throws: ByteReadError.truncated(at: 0)) { try huge.data() }
        #expect(throws: ByteReadError.trailingBytes(1)) { try ByteReader([0]).expectEnd() }
    }
}
