import FuzzSupport
import HoldfastWebSocket

/// Input: a settings byte, a fragmentation byte, then raw DEFLATE data (RFC 7692: the message's compressed bytes
/// without the 00 00 FF FF tail). The harness sends it twice as a compressed message, in up to four fragments,
/// so the inflater's limits, its context takeover and UTF-8 validation of inflated text all see it.
@main
enum FuzzDeflate {
    static func main() {
        FuzzDriver.run { input in
            guard input.count >= 2 else { return }
            let settings = input[0]
            let fragments = Int(input[1] & 3) + 1
            let data = Array(input.dropFirst(2))
            let limits = settings & 0x30 == 0
                ? WebSocketLimits()
                : WebSocketLimits(maxFrameSize: 1 << 16, maxMessageSize: Int(settings >> 4) * 64)
            let deflate = PerMessageDeflateParameters(
                serverNoContextTakeover: false, clientNoContextTakeover: settings & 2 != 0,
                serverMaxWindowBits: 15, clientMaxWindowBits: 8 + (settings >> 2) & 7)
            var stream: [UInt8] = []
            for _ in 0..<2 {
                let opcode: UInt8 = settings & 1 == 0 ? 1 : 2
                let size = (data.count + fragments - 1) / fragments
                var start = 0
                for fragment in 0..<fragments {
                    let end = fragment == fragments - 1 ? data.count : min(start + size, data.count)
                    stream += clientFrame(
                        opcode: fragment == 0 ? opcode : 0, fin: fragment == fragments - 1, rsv1: fragment == 0,
                        payload: data[start..<end])
                    start = end
                }
            }
            let whole = feedWebSocket(stream, chunk: stream.count, limits: limits, deflate: deflate)
            let split = feedWebSocket(stream, chunk: 3, limits: limits, deflate: deflate)
            require(split.events == whole.events, "split: \(split.events) != \(whole.events)")
        }
    }
}
