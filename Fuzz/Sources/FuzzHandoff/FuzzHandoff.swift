import FuzzSupport
import HoldfastBytes
import HoldfastHandoff
import HoldfastPresence
import HoldfastRooms

/// Checks that a decoded value re-encodes to bytes that decode to a value encoding to the same bytes (bytes are
/// compared rather than values so that NaN doubles in presence metas compare equal).
private func roundTrip(_ name: String, _ first: [UInt8], _ decode: ([UInt8]) throws -> [UInt8]) {
    do {
        let second = try decode(first)
        require(second == first, "\(name): re-encoding changed \(first) into \(second)")
    } catch {
        require(false, "\(name): own encoding does not decode: \(error) \(first)")
    }
}

/// Input: a record or control message as read from the handoff channel. Every decoder gets it, since the real
/// reader chooses the decoder by the first byte, which the fuzzer controls anyway.
@main
enum FuzzHandoff {
    static func main() {
        FuzzDriver.run { input in
            let bytes = Array(input)
            if let value = try? HandoffHeader(decoding: bytes) {
                roundTrip("header", value.encode()) { try HandoffHeader(decoding: $0).encode() }
            }
            if let value = try? ListenerSnapshot(decoding: bytes) {
                roundTrip("listener", value.encode()) { try ListenerSnapshot(decoding: $0).encode() }
            }
            if let value = try? ConnectionSnapshot(decoding: bytes) {
                roundTrip("connection", value.encode()) { try ConnectionSnapshot(decoding: $0).encode() }
            }
            if let (key, snapshot) = try? KeyedConnectionRecord.decode(bytes) {
                let kind = bytes[0]
                roundTrip("keyed connection", KeyedConnectionRecord.encode(kind: kind, key: key, snapshot: snapshot.encode())) {
                    let (key, snapshot) = try KeyedConnectionRecord.decode($0)
                    return KeyedConnectionRecord.encode(kind: kind, key: key, snapshot: snapshot.encode())
                }
            }
            if let keys = try? ClosedKeysRecord.decode(bytes) {
                let sorted = keys.sorted()
                roundTrip("closed keys", ClosedKeysRecord.encode(sorted)) {
                    ClosedKeysRecord.encode(try ClosedKeysRecord.decode($0).sorted())
                }
            }
            if let value = try? HandoffControl(decoding: bytes) {
                roundTrip("control", value.encode()) { try HandoffControl(decoding: $0).encode() }
            }
            if let value = try? RoomSnapshot(decoding: bytes) {
                roundTrip("room", value.encode()) { try RoomSnapshot(decoding: $0).encode() }
            }
            if let value = try? StagedRoom(decoding: bytes) {
                roundTrip("staged room", value.encode()) { try StagedRoom(decoding: $0).encode() }
            }
            if let value = try? PresenceSnapshot(decoding: bytes) {
                var encoded: [UInt8] = []
                value.encode(into: &encoded)
                roundTrip("presence", encoded) {
                    var again: [UInt8] = []
                    try PresenceSnapshot(decoding: $0).encode(into: &again)
                    return again
                }
            }
        }
    }
}
