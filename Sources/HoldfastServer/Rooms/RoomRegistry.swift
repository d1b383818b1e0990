import HoldfastChannels
import HoldfastCore
import Logging
import Synchronization

/// Finds (or creates) the room of a topic and delivers messages to it on its home loop.
///
/// A room's home loop is chosen by a stable hash of its topic, so every message for a room is handled on one
/// thread in arrival order, without locks.
final class RoomRegistry: Sendable {
    private let loops: [EventLoop]
    private let services: RoomServices
    private let hosts = Mutex<[String: RoomHost]>([:])

    init(loops: [EventLoop], services: RoomServices) {
        self.loops = loops
        self.services = services
    }

    /// Delivers `message` to the room of `topic`, creating the room on first use.
    func send(_ topic: String, _ message: RoomMessage) {
        let host = hosts.withLock { hosts -> RoomHost in
            if let host = hosts[topic] { return host }
            let loop = loops[Int(stableHash(topic) % UInt64(loops.count))]
            let host = RoomHost(topic: topic, loop: loop, services: services)
            hosts[topic] = host
            return host
        }
        host.send(message)
    }

    /// Number of rooms created so far.
    var roomCount: Int { hosts.withLock { $0.count } }

    /// Test hook: makes the room of `topic` fail on its next message, as a thrown error would.
    func injectFault(topic: String) {
        let host = hosts.withLock { $0[topic] }
        host?.injectFault()
    }

    private func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
