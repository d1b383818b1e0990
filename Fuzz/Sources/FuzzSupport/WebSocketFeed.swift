public import HoldfastWebSocket

/// Feeds client bytes to a ``WebSocketConnection`` the way the server does: a receive buffer of unconsumed
/// bytes, `chunk` new bytes at a time, events drained until more input is needed or the connection closes.
/// Returns a description of every event and the bytes written back.
public func feedWebSocket(
    _ input: [UInt8], chunk: Int, limits: WebSocketLimits, deflate: PerMessageDeflateParameters?
) -> (events: [String], output: [UInt8]) {
    var connection = WebSocketConnection(
        limits: limits, deflate: deflate, deflateConfiguration: PerMessageDeflateConfiguration())
    var events: [String] = []
    var output: [UInt8] = []
    var buffer: [UInt8] = []
    var index = 0
    repeat {
        let end = min(index + max(chunk, 1), input.count)
        buffer += input[index..<end]
        index = end
        while true {
            var closed = false
            let consumed = buffer.withUnsafeMutableBytes { bytes -> Int in
                let (event, consumed) = connection.nextEvent(input: bytes, output: &output)
                switch event {
                case .needMoreInput: events.append("more")
                case .text(let payload):
                    require(payload.count <= limits.maxMessageSize, "text of \(payload.count) bytes over the limit")
                    events.append("text \(Array(payload))")
                case .binary(let payload):
                    require(payload.count <= limits.maxMessageSize, "binary of \(payload.count) bytes over the limit")
                    events.append("binary \(Array(payload))")
                case .ping(let payload): events.append("ping \(Array(payload))")
                case .pong(let payload): events.append("pong \(Array(payload))")
                case .closed(let code, let reason, let initiatedByPeer, let error):
                    events.append("closed \(code) \(reason) \(initiatedByPeer) \(String(describing: error))")
                    closed = true
                }
                return consumed
            }
            require(consumed <= buffer.count, "consumed \(consumed) of \(buffer.count) bytes")
            buffer.removeFirst(consumed)
            if closed { return (events.filter { $0 != "more" }, output) }
            if events.last == "more" { break }
        }
    } while index < input.count
    return (events.filter { $0 != "more" }, output)
}

/// Runs `input` through an echo server in chunks of `chunk` bytes, the way the server does: with `fastPath`, whole
/// messages are answered in place (`echoInPlace`), a close that comes first too (`answerCloseInPlace`), and the
/// parser takes the rest; without it, the parser alone and `appendMessage`. Returns the bytes sent and the close
/// code, if the connection closed.
public func echoWebSocket(
    _ input: [UInt8], chunk: Int, limits: WebSocketLimits, fastPath: Bool
) -> (output: [UInt8], closed: UInt16?) {
    var connection = WebSocketConnection(
        limits: limits, deflate: nil, deflateConfiguration: PerMessageDeflateConfiguration())
    var output: [UInt8] = []
    var buffer: [UInt8] = []
    var closed: UInt16?
    var index = 0
    repeat {
        let end = min(index + max(chunk, 1), input.count)
        buffer += input[index..<end]
        index = end
        while closed == nil {
            if fastPath {
                let consumed = buffer.withUnsafeMutableBytes { bytes -> Int in
                    let (answered, consumed) = connection.echoInPlace(bytes)
                    require(answered <= consumed && consumed <= bytes.count, "answered \(answered) of \(consumed)")
                    output += bytes[..<answered]
                    if consumed == 0, let close = connection.answerCloseInPlace(bytes, at: 0, answerAt: 0) {
                        require(close.answered == 2 || close.answered == 4, "a close answer of \(close.answered)")
                        output += bytes[..<close.answered]
                        closed = close.code.rawValue
                        return bytes.count
                    }
                    return consumed
                }
                if consumed > 0 {
                    buffer.removeFirst(consumed)
                    continue
                }
            }
            let (consumed, more) = buffer.withUnsafeMutableBytes { bytes -> (Int, Bool) in
                let (event, consumed) = connection.nextEvent(input: bytes, output: &output)
                switch event {
                case .needMoreInput: return (consumed, false)
                case .text(let payload): connection.appendMessage(payload, opcode: .text, into: &output)
                case .binary(let payload): connection.appendMessage(payload, opcode: .binary, into: &output)
                case .ping, .pong: break
                case .closed(let code, _, _, _): closed = code.rawValue
                }
                return (consumed, true)
            }
            buffer.removeFirst(consumed)
            if !more { break }
        }
    } while index < input.count && closed == nil
    return (output, closed)
}
