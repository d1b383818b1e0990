import HoldfastHandlerAPI
import HoldfastJSON
import HoldfastUpgrade
import Testing

@Suite("Binary state codec and value conversion")
struct CodecTests {
    @Test func roundTripsScalarsAndValues() throws {
        var writer = BinaryWriter()
        writer.write(UInt8(7))
        writer.write(true)
        writer.write(UInt64.max)
        writer.write(Int64.min)
        writer.write(Int64(-1))
        writer.write(3.25)
        writer.write("héllo")
        let value = HandlerValue.object([
            HandlerMember("a", .array([.null, .bool(false), .int(-5), .double(0.5)])),
            HandlerMember("b", .string("x")),
        ])
        writer.write(value)
        var reader = BinaryReader(writer.bytes)
        #expect(try reader.readByte() == 7)
        #expect(try reader.readBool())
        #expect(try reader.readUInt64() == UInt64.max)
        #expect(try reader.readInt64() == Int64.min)
        #expect(try reader.readInt64() == -1)
        #expect(try reader.readDouble() == 3.25)
        #expect(try reader.readString() == "héllo")
        #expect(try reader.readHandlerValue() == value)
        try reader.expectEnd()
    }

    @Test func truncatedInputThrows() {
        var writer = BinaryWriter()
        writer.write("a longer string")
        var reader = BinaryReader(Array(writer.bytes.dropLast(3)))
        #expect(throws: StateDecodingError.self) { try reader.readString() }
        var huge = BinaryReader([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(throws: StateDecodingError.self) { try huge.readCount() }
    }

    @Test func jsonConversionRoundTrips() {
        let json = JSONValue.object([
            JSONMember("id", .integer(42)), JSONMember("x", .double(1.5)), JSONMember("tags", .array([.string("a"), .null])),
            JSONMember("ok", .bool(true)),
        ])
        let value = HandlerValue(json)
        #expect(value["id"] == .int(42))
        #expect(JSONValue(value) == json)
    }

    @Test func hostABIAndBuildTagAgree() {
        #expect(HoldfastPluginExport.compiledABI == handlerAPIVersion)
        #expect(PluginLoader.hostBuildTag.hasPrefix("holdfast-handler-api=\(handlerAPIVersion);"))
    }
}
