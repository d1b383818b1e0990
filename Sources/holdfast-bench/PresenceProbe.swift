import Glibc
import HoldfastCore

/// presence-burst `--probes`: one extra socket, user `probe`, that rejoins the room over and over once every view
/// is complete. Each rejoin changes its meta (`device` = `probe-<send time>`), so every member receives a
/// `presence_diff` naming `probe` and times it against the send time (all processes read the same monotonic
/// clock). Members leave the `probe` key out of their views.
///
/// Blocking and single-threaded: it runs on the coordinating thread while the loops receive. What the server
/// sends it (its own presence_state and diffs) is read and dropped, so its socket never backs up.
final class PresenceProbe {
    /// The user name every member recognises.
    static let user = "probe"
    /// The prefix of the probe's `device` meta; the send time in nanoseconds follows.
    static let devicePrefix = "probe-"

    private let fd: Int32
    private let topic: String
    private var random = SplitMix()
    private var ref = 0

    /// Connects, upgrades and waits (at most `timeout` seconds) for the server's 101.
    init(target: Target, path: String, topic: String, timeout: Double) throws(BenchError) {
        let deadline = MonotonicClock.nowNanoseconds() + UInt64(timeout * 1e9)
        switch target.startConnect() {
        case .success(let socket): fd = socket
        case .failure(let error): throw BenchError("probe connection: \(error)")
        }
        self.topic = topic
        do throws(BenchError) {
            try wait(for: Int16(POLLOUT), until: deadline)
            if let error = Target.connectError(fd) { throw BenchError("probe connection: \(error)") }
            let handshake = Handshake(target: target, path: path, offerDeflate: true, random: &random)
            try send(handshake.request, until: deadline)
            var response: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                switch handshake.check(response) {
                case .upgraded: return
                case .rejected(let reason): throw BenchError("probe handshake: \(reason)")
                case .incomplete: break
                }
                // Read byte by byte past the head only as far as needed: frames may follow at once, and they are
                // dropped anyway by `drain`.
                switch chunk.withUnsafeMutableBytes({ Socket.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<1])) }) {
                case .done(0): throw BenchError("probe handshake: connection closed")
                case .done: response.append(chunk[0])
                case .wouldBlock: try wait(for: Int16(POLLIN), until: deadline)
                case .failed(let error): throw BenchError("probe handshake: \(error)")
                }
            }
        } catch {
            Socket.close(fd)
            throw error
        }
    }

    deinit { Socket.close(fd) }

    /// Joins (again), naming the send time in the meta; returns that time.
    func rejoin() throws(BenchError) -> UInt64 {
        drain()
        ref += 1
        let sentAt = MonotonicClock.nowNanoseconds()
        let text = Array(
            "[\"\(ref)\",\"\(ref)\",\(ChannelClient.quoted(topic)),\"phx_join\",{\"device\":\"\(Self.devicePrefix)\(sentAt)\"}]".utf8)
        var frame: [UInt8] = []
        FrameWriter.append(to: &frame, opcode: .text, length: text.count, maskKey: UInt32(truncatingIfNeeded: random.next())) {
            payload in text.withUnsafeBytes { payload.copyMemory(from: $0) }
        }
        try send(frame, until: MonotonicClock.nowNanoseconds() + 5_000_000_000)
        return sentAt
    }

    /// Reads and drops whatever the server sent.
    func drain() {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while case .done(let count) = chunk.withUnsafeMutableBytes({ Socket.read(fd, into: $0) }), count > 0 {}
    }

    private func send(_ bytes: [UInt8], until deadline: UInt64) throws(BenchError) {
        var sent = 0
        while sent < bytes.count {
            switch bytes.withUnsafeBytes({ Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[sent...])) }) {
            case .done(let count): sent += count
            case .wouldBlock:
                drain()
                try wait(for: Int16(POLLOUT), until: deadline)
            case .failed(let error): throw BenchError("probe send: \(error)")
            }
        }
    }

    private func wait(for events: Int16, until deadline: UInt64) throws(BenchError) {
        try pollWait(fd, for: events, until: deadline, late: "probe: the server did not answer in time")
    }
}
