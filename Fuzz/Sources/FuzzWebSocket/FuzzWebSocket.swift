import FuzzSupport
import HoldfastWebSocket

/// Input: one byte choosing the connection's settings, then the client's bytes (frames, masked or not).
@main
enum FuzzWebSocket {
    static func main() {
        FuzzDriver.run { input in
            guard let settings = input.first else { return }
            let bytes = Array(input.dropFirst())
            let limits = settings & 1 == 0
                ? WebSocketLimits()
                : WebSocketLimits(maxFrameSize: 64, maxMessageSize: 96)
            let deflate: PerMessageDeflateParameters? = settings & 2 == 0
                ? nil
                : PerMessageDeflateParameters(
                    serverNoContextTakeover: false, clientNoContextTakeover: settings & 4 != 0,
                    serverMaxWindowBits: 15, clientMaxWindowBits: 15)
            let whole = feedWebSocket(bytes, chunk: bytes.count, limits: limits, deflate: deflate)
            // Frames split anywhere must give the same events and replies.
            for chunk in [1, Int(settings >> 3) + 2] {
                let split = feedWebSocket(bytes, chunk: chunk, limits: limits, deflate: deflate)
                require(split.events == whole.events, "chunks of \(chunk): \(split.events) != \(whole.events)")
                require(split.output == whole.output, "chunks of \(chunk): different replies")
            }
            // An echo server answering whole messages in place sends what the parser and appendMessage would.
            let reference = echoWebSocket(bytes, chunk: bytes.count, limits: limits, fastPath: false)
            for chunk in [bytes.count, Int(settings >> 3) + 1] {
                let fast = echoWebSocket(bytes, chunk: chunk, limits: limits, fastPath: true)
                require(fast.output == reference.output, "echo in place, chunks of \(chunk): different answers")
                require(fast.closed == reference.closed, "echo in place, chunks of \(chunk): different close")
            }
        }
    }
}
