import HoldfastBytes
import HoldfastTestSupport
import Testing
@testable import HoldfastWebSocket

/// Bodies made of pieces kept between messages: each piece compressed once and reused by later bodies, the whole
/// decoding to the joined text on any client.
@Suite struct SharedDeflatePiecesTests {
    static func piece(_ index: Int, count: Int = 120) -> SharedBytes {
        let members = (0..<count).map { "\"u\(index)-\($0)\":{\"metas\":[{\"online_at\":17641243\($0)}]}" }
        return SharedBytes(Array(members.joined(separator: ",").utf8))
    }

    static func joined(_ pieces: [SharedBytes], closing: String) -> [UInt8] {
        Array("{".utf8) + Array(pieces.map { String(decoding: $0.bytes, as: UTF8.self) }.joined(separator: ",").utf8)
            + Array(closing.utf8)
    }

    @Test func piecesDecodeAsTheJoinedBodyBehindAPrefix() throws {
        let pieces = (0..<4).map { Self.piece($0) }
        let shared = SharedDeflate(pieces: pieces, opening: UInt8(ascii: "{"), separator: UInt8(ascii: ","), closing: Array("}]".utf8), level: 6)
        let expected = Self.joined(pieces, closing: "}]")
        #expect(shared.body == expected)
        #expect(shared.bodyCount == expected.count)
        let compressed = try #require(shared.compressed(windowBits: 15))
        #expect(compressed.count < expected.count / 5)
        var connection = WebSocketConnection(
            limits: .init(), deflate: PerMessageDeflateParameters(serverNoContextTakeover: true), deflateConfiguration: .init())
        let frame = SharedDeflateTests.send(prefix: "[\"7\",null,\"room:a\",\"presence_state\",", shared, on: &connection)
        #expect(frame.rsv1)
        #expect(ClientInflater().inflateMessage(frame.payload) == Array("[\"7\",null,\"room:a\",\"presence_state\",".utf8) + expected)
    }

    @Test func aLaterBodyReusesTheKeptCompressionOfItsUnchangedPieces() throws {
        let kept = [Self.piece(0), Self.piece(1)]
        let first = SharedDeflate(pieces: kept + [Self.piece(2)], opening: UInt8(ascii: "{"), separator: UInt8(ascii: ","), closing: Array("}".utf8), level: 6)
        let before = try #require(first.compressed(windowBits: 15))
        let changed = Self.piece(9, count: 7)
        let second = SharedDeflate(pieces: kept + [changed], opening: UInt8(ascii: "{"), separator: UInt8(ascii: ","), closing: Array("}".utf8), level: 6)
        let after = try #require(second.compressed(windowBits: 15))
        // The kept pieces' compressed parts lead both bodies byte for byte; only the changed piece was compressed.
        let keptParts = try #require(kept[0].form(15 << 16 | 6 << 8 | Int(UInt8(ascii: "{")), make: { _ in nil }))
            + (try #require(kept[1].form(15 << 16 | 6 << 8 | Int(UInt8(ascii: ",")), make: { _ in nil })))
        #expect(Array(before.prefix(keptParts.count)) == keptParts)
        #expect(Array(after.prefix(keptParts.count)) == keptParts)
        #expect(ClientInflater().inflateMessage(after) == Self.joined(kept + [changed], closing: "}"))
        // A client that decoded the first body decodes the second with the window that left it.
        let client = ClientInflater()
        #expect(client.inflateMessage(before) == Self.joined(kept + [Self.piece(2)], closing: "}"))
        #expect(client.inflateMessage(after) == Self.joined(kept + [changed], closing: "}"))
    }

    @Test func noPiecesIsOpeningAndClosing() throws {
        let shared = SharedDeflate(pieces: [], opening: UInt8(ascii: "{"), separator: UInt8(ascii: ","), closing: Array("}]".utf8), level: 6)
        #expect(shared.body == Array("{}]".utf8))
        #expect(shared.bodyCount == 3)
        #expect(ClientInflater().inflateMessage(try #require(shared.compressed(windowBits: 15))) == Array("{}]".utf8))
    }

    @Test func aNarrowWindowGetsPiecesCompressedForIt() throws {
        var random = SplitMix(seed: 5)
        let block = (0..<2048).map { _ in UInt8.random(in: 97...122, using: &random) }
        let piece = SharedBytes(block + block)
        let shared = SharedDeflate(pieces: [piece, piece], opening: UInt8(ascii: "["), separator: UInt8(ascii: ","), closing: Array("]".utf8), level: 6)
        var connection = WebSocketConnection(
            limits: .init(), deflate: PerMessageDeflateParameters(serverNoContextTakeover: true, serverMaxWindowBits: 9),
            deflateConfiguration: .init())
        let frame = SharedDeflateTests.send(prefix: "", shared, on: &connection)
        #expect(frame.payload == (try #require(shared.compressed(windowBits: 9))))
        #expect(frame.payload != (try #require(shared.compressed(windowBits: 15))))
        #expect(ClientInflater().inflateMessage(frame.payload) == Array("[".utf8) + block + block + Array(",".utf8) + block + block + Array("]".utf8))
    }

    @Test func aCompressedPieceStandsInForItsTextUntilTheTextIsReadAgain() throws {
        let pieces = (0..<3).map { Self.piece($0) }
        let texts = pieces.map(\.bytes)
        let expected = Self.joined(pieces, closing: "}")
        let first = SharedDeflate(pieces: pieces, opening: UInt8(ascii: "{"), separator: UInt8(ascii: ","), closing: Array("}".utf8), level: 6)
        #expect(pieces.allSatisfy { $0.holdsText })
        let compressed = try #require(first.compressed(windowBits: 15))
        // Each piece now holds its compressed part alone, and still counts its text's bytes.
        #expect(pieces.allSatisfy { !$0.holdsText })
        #expect(pieces.map(\.count) == texts.map(\.count))
        // A later body of the same pieces compresses to the same bytes from the kept parts, without the text.
        let second = SharedDeflate(pieces: pieces, opening: UInt8(ascii: "{"), separator: UInt8(ascii: ","), closing: Array("}".utf8), level: 6)
        let again = try #require(second.compressed(windowBits: 15))
        #expect(again == compressed)
        #expect(pieces.allSatisfy { !$0.holdsText })
        // A reader of the text (a joiner without compression) gets it byte for byte, and it is kept from then on.
        #expect(second.body == expected)
        #expect(pieces.map(\.bytes) == texts)
        #expect(pieces.allSatisfy { $0.holdsText })
        // A narrower window's parts are made from the rebuilt text; the text stays.
        let narrow = try #require(second.compressed(windowBits: 9))
        #expect(ClientInflater().inflateMessage(narrow) == expected)
        #expect(pieces.allSatisfy { $0.holdsText })
    }

    @Test func aFormThatDoesNotExpandToTheBytesNeverStandsInForThem() throws {
        let piece = Self.piece(0)
        let text = piece.bytes
        let form = piece.form(1, make: { Array($0.prefix(8)) }, standingInWith: { form, _ in form })
        #expect(form == Array(text.prefix(8)))
        #expect(piece.holdsText)
        #expect(piece.bytes == text)
    }
}
