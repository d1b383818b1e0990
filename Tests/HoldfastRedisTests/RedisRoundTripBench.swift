import Glibc
import HoldfastCore
import HoldfastConfig
import HoldfastRedis
import HoldfastTestSupport
import Synchronization
import Testing

/// The cost of the Redis hop through ``RedisClient`` (hiredis on the event loop) against a peer run in the same
/// process: RESP written by hand over a blocking socket to the same server. Off by default; run with
/// `HOLDFAST_REDIS_BENCH=1 swift test --filter RedisRoundTripBench` (docs/cluster.md has the numbers). It checks
/// only that every reply arrived; the timings are printed, never asserted.
@Suite(.serialized, .enabled(if: getenv("HOLDFAST_REDIS_BENCH") != nil))
struct RedisRoundTripBench {
    static let sequential = 5_000
    static let pipelined = 50_000

    @Test func pingAndPublishThroughTheClientAgainstRawRESP() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let client = try RedisClient(url: RedisURL(host: "127.0.0.1", port: server.port), loop: thread.loop)
        #expect(startReady(client, on: thread))

        // One PING at a time: the latency of the hop.
        let clientCPU = CPUClock()
        let clientLatencies = thread.run(timeout: 60_000) { (done: @escaping ([Int64]) -> Void) in
            var latencies: [Int64] = []
            func next() {
                let start = MonotonicClock.nowNanoseconds()
                client.ping { _ in
                    latencies.append(Int64(MonotonicClock.nowNanoseconds() - start))
                    if latencies.count == Self.sequential { done(latencies) } else { next() }
                }
            }
            next()
        }
        let clientPingCPU = clientCPU.microsecondsPer(Self.sequential)
        let raw = RawRESP(port: server.port)
        let rawCPU = CPUClock()
        let rawLatencies = (0..<Self.sequential).map { _ in
            let start = MonotonicClock.nowNanoseconds()
            raw.roundTrip(Array("*1\r\n$4\r\nPING\r\n".utf8), replies: 1)
            return Int64(MonotonicClock.nowNanoseconds() - start)
        }
        let rawPingCPU = rawCPU.microsecondsPer(Self.sequential)

        // Many PUBLISHes in one go: the CPU each costs when pipelined (what a busy room does).
        let payload = [UInt8](repeating: 0x61, count: 200)
        let publishCPU = CPUClock()
        let published = thread.run(timeout: 60_000) { (done: @escaping (Int) -> Void) in
            var count = 0
            for _ in 0..<Self.pipelined {
                client.publish("room:bench", payload) { _ in
                    count += 1
                    if count == Self.pipelined { done(count) }
                }
            }
        }
        let clientPublishCPU = publishCPU.microsecondsPer(Self.pipelined)
        var command = Array("*3\r\n$7\r\nPUBLISH\r\n$10\r\nroom:bench\r\n$200\r\n".utf8) + payload + Array("\r\n".utf8)
        command = Array((0..<1_000).map { _ in command }.joined())
        let rawPublishCPU = CPUClock()
        for _ in 0..<(Self.pipelined / 1_000) { raw.roundTrip(command, replies: 1_000) }
        let rawPublishMicros = rawPublishCPU.microsecondsPer(Self.pipelined)

        #expect(clientLatencies?.count == Self.sequential && published == Self.pipelined)
        let clientMedian = median(clientLatencies ?? [])
        let rawMedian = median(rawLatencies)
        print(
            """
            redis round trip (\(Self.sequential) sequential PINGs, \(Self.pipelined) pipelined 200-byte PUBLISHes)
              PING p50 latency: client \(micros(clientMedian)) us, raw RESP \(micros(rawMedian)) us, \
            ratio \(ratio(clientMedian, rawMedian))
              PING CPU/command: client \(clientPingCPU) us, raw RESP \(rawPingCPU) us
              PUBLISH CPU/command pipelined: client \(clientPublishCPU) us, raw RESP \(rawPublishMicros) us
            """)
        thread.sync { client.close() }
    }
}

private func median(_ values: [Int64]) -> Int64 {
    guard !values.isEmpty else { return 0 }
    return values.sorted()[values.count / 2]
}

private func micros(_ nanoseconds: Int64) -> String { String(Double(nanoseconds / 100) / 10) }

private func ratio(_ left: Int64, _ right: Int64) -> String {
    right == 0 ? "-" : String(Double(left * 100 / right) / 100)
}

/// User plus system CPU time of this process since creation.
private struct CPUClock {
    private let start = CPUClock.now()

    static func now() -> Int64 {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int64(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1_000_000
            + Int64(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }

    func microsecondsPer(_ count: Int) -> String {
        String(Double((CPUClock.now() - start) * 100 / Int64(count)) / 100)
    }
}

/// The peer: RESP written by hand on a blocking socket, replies counted by their line ends (PING and PUBLISH
/// answer one line each).
private final class RawRESP {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    init(port: UInt16) { fd = connectToLoopback(port: port) }
    deinit { close(fd) }

    func roundTrip(_ bytes: [UInt8], replies: Int) {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            written += count
        }
        var lines = 0
        while lines < replies {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return }
            for index in 0..<count where buffer[index] == 0x0A { lines += 1 }
        }
    }
}
