import HoldfastCore
import HoldfastConfig
import HoldfastRedis
import HoldfastTestSupport
import Synchronization
import Testing

typealias Reply = Result<RedisReply, RedisError>

/// Starts `client` on `thread`'s loop and waits until it is ready.
func startReady(_ client: RedisClient, on thread: LoopThread) -> Bool {
    thread.sync { client.start() }
    return eventually { client.status.state == .ready }
}

@Suite(.serialized) struct RedisClientLiveTests {
    @Test func answersCommandsWithTypedReplies() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let client = try RedisClient(url: RedisURL(host: "127.0.0.1", port: server.port), loop: thread.loop)
        #expect(startReady(client, on: thread))
        let replies = thread.run { (done: @escaping ([Reply]) -> Void) in
            client.pipeline(
                [
                    ["SET", "greeting", RedisArgument(bytes: [0x68, 0x00, 0xFF])],
                    ["GET", "greeting"],
                    ["GET", "missing"],
                    ["INCR", "counter"],
                    ["INCR", "greeting"],
                    ["RPUSH", "list", "a", "b"],
                    ["LRANGE", "list", 0, -1],
                    ["NOSUCHCOMMAND"],
                ], done)
        }
        let expected: [Reply] = [
            .success(.status("OK")),
            .success(.bulk([0x68, 0x00, 0xFF])),  // binary-safe both ways
            .success(.null),
            .success(.integer(1)),
            .failure(.server("ERR value is not an integer or out of range")),
            .success(.integer(2)),
            .success(.array([.bulk(Array("a".utf8)), .bulk(Array("b".utf8))])),
        ]
        #expect(replies?.prefix(7) == expected[...])
        guard case .failure(.server(let message)) = replies?.last else {
            Issue.record("an unknown command must fail with the server's error, got \(String(describing: replies))")
            return
        }
        #expect(message.hasPrefix("ERR unknown command"))
        thread.sync { client.close() }
    }

    @Test func pipelinesThousandsOfCommandsInOrder() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let client = try RedisClient(url: RedisURL(host: "127.0.0.1", port: server.port), loop: thread.loop)
        #expect(startReady(client, on: thread))
        // Issued in one loop iteration: one buffer, written before the loop sleeps; replies come back in order.
        let values = thread.run { (done: @escaping ([Int64]) -> Void) in
            var values: [Int64] = []
            for _ in 0..<5_000 {
                client.incr("sequence") { result in
                    values.append((try? result.get()) ?? -1)
                    if values.count == 5_000 { done(values) }
                }
            }
        }
        #expect(values == Array(1...5_000))
        thread.sync { client.close() }
    }

    @Test func appendsToAStreamAndReadsRangesBack() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let client = try RedisClient(url: RedisURL(host: "127.0.0.1", port: server.port), loop: thread.loop)
        #expect(startReady(client, on: thread))
        let ids = thread.run { (done: @escaping ([RedisStreamID]) -> Void) in
            var ids: [RedisStreamID] = []
            for index in 0..<300 {
                client.xadd("room:lobby", maxLength: 50, fields: [("body", Array("m\(index)".utf8)), ("user", [0x75])])
                {
                    ids.append((try? $0.get()) ?? RedisStreamID(milliseconds: 0, sequence: 0))
                    if ids.count == 300 { done(ids) }
                }
            }
        }
        let appended = try #require(ids)
        #expect(appended == appended.sorted() && Set(appended).count == 300, "ids increase strictly")
        // MAXLEN ~ trims whole nodes: at least the 50 newest stay, far fewer than 300.
        let length = thread.run { (done: @escaping (Reply) -> Void) in client.send(["XLEN", "room:lobby"], done) }
        let kept = try #require(try length?.get().integer)
        #expect(kept >= 50 && kept < 300)
        // The newest 10 after an exclusive start: what a client that saw `appended[289]` missed.
        let tail = thread.run { (done: @escaping (Result<[RedisStreamEntry], RedisError>) -> Void) in
            client.xrange("room:lobby", from: "(\(appended[289])", to: "+", count: 100, done)
        }
        let entries = try #require(try tail?.get())
        #expect(entries.map(\.id) == Array(appended[290...]))
        #expect(entries.first?["body"] == Array("m290".utf8) && entries.first?["user"] == [0x75])
        thread.sync { client.close() }
    }

    @Test func selectsTheDatabaseOfTheURL() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let two = try RedisClient(url: RedisURL(parsing: "redis://127.0.0.1:\(server.port)/2"), loop: thread.loop)
        let zero = try RedisClient(url: RedisURL(parsing: "redis://127.0.0.1:\(server.port)"), loop: thread.loop)
        #expect(startReady(two, on: thread) && startReady(zero, on: thread))
        _ = thread.run { (done: @escaping (Reply) -> Void) in two.send(["SET", "where", "two"], done) }
        let inTwo = thread.run { (done: @escaping (Reply) -> Void) in two.send(["GET", "where"], done) }
        let inZero = thread.run { (done: @escaping (Reply) -> Void) in zero.send(["GET", "where"], done) }
        #expect(inTwo == .success(.bulk(Array("two".utf8))))
        #expect(inZero == .success(.null))
        thread.sync {
            two.close()
            zero.close()
        }
    }

    @Test func resolvesHostNamesOffTheLoop() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let client = try RedisClient(url: RedisURL(host: "localhost", port: server.port), loop: thread.loop)
        #expect(startReady(client, on: thread))
        let pong = thread.run { (done: @escaping (Result<Void, RedisError>) -> Void) in client.ping(done) }
        #expect(pong.map { (try? $0.get()) != nil } == true)
        thread.sync { client.close() }
    }

    @Test func refusesTLSURLs() throws {
        let loop = try EventLoop()
        #expect(throws: RedisError.tlsUnsupported) {
            try RedisClient(url: RedisURL(parsing: "rediss://127.0.0.1:6380"), loop: loop)
        }
    }
}
