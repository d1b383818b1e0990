import HoldfastWebSocket

/// An event copied out of the connection so tests can compare it after the payload pointer expires.
enum Recorded: Equatable, CustomStringConvertible {
    case text(String)
    case binary([UInt8])
    case ping([UInt8])
    case pong([UInt8])
    case closed(code: UInt16, byPeer: Bool, error: WebSocketProtocolError?)

    init?(_ event: WebSocketEvent) {
        switch event {
        case .needMoreInput: return nil
        case .text(let bytes): self = .text(String(decoding: bytes, as: UTF8.self))
        case .binary(let bytes): self = .binary(Array(bytes))
        case .ping(let bytes): self = .ping(Array(bytes))
        case .pong(let bytes): self = .pong(Array(bytes))
        case .closed(let code, _, let byPeer, let error): self = .closed(code: code.rawValue, byPeer: byPeer, error: error)
        }
    }

    var description: String {
        switch self {
        case .text(let text): "text(\(text.prefix(40)))"
        case .binary(let bytes): "binary(\(bytes.count))"
        case .ping(let bytes): "ping(\(bytes))"
        case .pong(let bytes): "pong(\(bytes))"
        case .closed(let code, let byPeer, let error): "closed(\(code), peer: \(byPeer), \(String(describing: error)))"
        }
    }
}

/// A server connection driven like a real caller drives it: a receive buffer of unconsumed bytes.
struct Harness {
    var connection: WebSocketConnection
    var buffer: [UInt8] = []
    var output: [UInt8] = []
    var events: [Recorded] = []

    init(
        limits: WebSocketLimits = WebSocketLimits(),
        deflate: PerMessageDeflateParameters? = nil,
        configuration: PerMessageDeflateConfiguration = PerMessageDeflateConfiguration()
    ) {
        connection = WebSocketConnection(limits: limits, deflate: deflate, deflateConfiguration: configuration)
    }

    /// Appends received bytes and drains every event they complete.
    @discardableResult
    mutating func feed(_ bytes: [UInt8]) -> [Recorded] {
        buffer += bytes
        var fresh: [Recorded] = []
        // A real caller stops reading once the closed event arrived.
        if case .closed = events.last { return fresh }
        while true {
            let (recorded, consumed) = buffer.withUnsafeMutableBytes { input in
                let (event, consumed) = connection.nextEvent(input: input, output: &output)
                return (Recorded(event), consumed)
            }
            buffer.removeFirst(consumed)
            guard let recorded else { break }
            fresh.append(recorded)
            if case .closed = recorded { break }
        }
        events += fresh
        return fresh
    }

    /// The frames the server wrote so far.
    var sentFrames: [ServerFrame] { ServerFrame.parse(output) }
}

/// One frame read back from server output.
struct ServerFrame: Equatable {
    var fin: Bool
    var rsv1: Bool
    var opcode: UInt8
    var payload: [UInt8]

    /// The code of a close frame, nil for an empty close payload.
    var closeCode: UInt16? {
        payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
    }

    /// Parses unmasked frames; stops at the first incomplete one.
    static func parse(_ bytes: [UInt8]) -> [ServerFrame] {
        var frames: [ServerFrame] = []
        var index = 0
        while index + 2 <= bytes.count {
            var length = Int(bytes[index + 1] & 0x7F)
            var header = 2
            if length == 126 {
                length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
                header = 4
            } else if length == 127 {
                length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[index + $1]) }
                header = 10
            }
            guard index + header + length <= bytes.count else { break }
            frames.append(
                ServerFrame(
                    fin: bytes[index] & 0x80 != 0, rsv1: bytes[index] & 0x40 != 0, opcode: bytes[index] & 0x0F,
                    payload: Array(bytes[(index + header)..<(index + header + length)])
                )
            )
            index += header + length
        }
        return frames
    }
}

/// A masked client frame.
func clientFrame(
    _ opcode: WebSocketOpcode,
    _ payload: [UInt8],
    fin: Bool = true,
    rsv1: Bool = false,
    mask: UInt32 = 0x3A7F_19C4
) -> [UInt8] {
    var out: [UInt8] = []
    payload.withUnsafeBytes {
        WebSocketFrame.appendFrame(opcode: opcode, fin: fin, rsv1: rsv1, payload: $0, mask: mask, into: &out)
    }
    return out
}

/// A masked client frame from a string.
func clientFrame(_ opcode: WebSocketOpcode, _ text: String, fin: Bool = true) -> [UInt8] {
    clientFrame(opcode, Array(text.utf8), fin: fin)
}

/// A raw frame with arbitrary first byte, used for malformed input.
func rawFrame(first: UInt8, payload: [UInt8], masked: Bool = true) -> [UInt8] {
    var out: [UInt8] = [first, (masked ? 0x80 : 0) | UInt8(payload.count)]
    if masked { out += [0, 0, 0, 0] }
    return out + payload
}
