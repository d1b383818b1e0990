import FuzzSupport
import HoldfastChannels
import HoldfastJSON

/// Input: a selector byte (v1 text, v2 text, v2 binary), then the frame. Every input also goes through the JSON
/// parser alone, and what it accepts must survive encoding and parsing again unchanged.
@main
enum FuzzPhoenix {
    static func main() {
        FuzzDriver.run { input in
            guard let selector = input.first else { return }
            let frame = UnsafeRawBufferPointer(rebasing: input.dropFirst())
            switch selector % 3 {
            case 0: _ = try? PhoenixSerializer.decode(frame, version: .v1)
            case 1: _ = try? PhoenixSerializer.decode(frame, version: .v2)
            default: _ = try? PhoenixSerializer.decodeBinary(frame)
            }
            guard let value = try? JSON.parse(frame, maxDepth: 64) else { return }
            let encoded = JSON.encode(value)
            let reparsed: JSONValue
            do {
                reparsed = try JSON.parse(encoded, maxDepth: 64)
            } catch {
                require(false, "encoded JSON does not parse: \(error): \(String(decoding: encoded, as: UTF8.self))")
                return
            }
            require(JSON.encode(reparsed) == encoded, "encoding is not stable: \(String(decoding: encoded, as: UTF8.self))")
        }
    }
}
