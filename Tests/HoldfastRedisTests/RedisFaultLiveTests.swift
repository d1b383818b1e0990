import Glibc
import HoldfastCore
import HoldfastConfig
import HoldfastRedis
import HoldfastTestSupport
import Synchronization
import Testing

@Suite(.serialized) struct RedisFaultLiveTests {
    /// Quick retries so a restart is noticed in well under a second.
    static let quick = RedisClientOptions(
        connectTimeoutMilliseconds: 500, commandTimeoutMilliseconds: 400,
        backoff: RedisBackoff(initialMilliseconds: 20, maximumMilliseconds: 200), clientName: "holdfast-test")

    @Test func reconnectsAndResubscribesAfterARedisRestart() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let url = RedisURL(host: "127.0.0.1", port: server.port)
        let client = try RedisClient(url: url, loop: thread.loop, options: Self.quick)
        let subscriber = try RedisSubscriber(url: url, loop: thread.loop, options: Self.quick)
        let states = Mutex<[String]>([])
        let confirmations = Mutex(0)
        let received = Mutex<[String]>([])
        thread.sync {
            client.onStateChange = { state in states.withLock { $0.append(state.name) } }
            subscriber.onSubscribed = { _ in confirmations.withLock { $0 += 1 } }
            subscriber.subscribe("presence") { bytes in
                received.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) }
            }
            subscriber.start()
        }
        #expect(startReady(client, on: thread))
        #expect(eventually { confirmations.withLock { $0 } == 1 })

        server.stop()
        #expect(
            eventually { client.status.state.name == "reconnecting" && subscriber.status.state.name == "reconnecting" })
        // While Redis is away, a command is refused at once, with a typed error.
        let refused = thread.run { (done: @escaping (Result<RedisReply, RedisError>) -> Void) in
            client.send(["PING"], done)
        }
        #expect(refused == .failure(.notConnected))

        try server.start()
        #expect(eventually { client.status.state == .ready && subscriber.status.state == .ready })
        #expect(eventually { confirmations.withLock { $0 } == 2 }, "the subscriber subscribed again on its own")
        let delivered = thread.run { (done: @escaping (Int64) -> Void) in
            client.publish("presence", Array("back".utf8)) { done((try? $0.get()) ?? -1) }
        }
        #expect(delivered == 1)
        #expect(eventually { received.withLock { $0 } == ["back"] })
        #expect(client.status.connections == 2 && subscriber.status.connections == 2)
        #expect(client.status.lastError != nil)
        let seen = states.withLock { $0 }
        #expect(Array(seen.prefix(2)) == ["connecting", "ready"] && seen.last == "ready")
        #expect(seen.contains("reconnecting"))
        thread.sync {
            client.close()
            subscriber.close()
        }
    }

    @Test func logsInWithAPasswordAndReportsWrongOnesAsTypedErrors() throws {
        let server = try RedisServerProcess(password: "pa:ss@word")
        let thread = try LoopThread()
        let good = try RedisClient(
            url: RedisURL(parsing: "redis://:pa%3Ass%40word@127.0.0.1:\(server.port)"), loop: thread.loop)
        let wrong = try RedisClient(
            url: RedisURL(parsing: "redis://:nope@127.0.0.1:\(server.port)"), loop: thread.loop, options: Self.quick)
        let missing = try RedisClient(
            url: RedisURL(host: "127.0.0.1", port: server.port), loop: thread.loop, options: Self.quick)
        #expect(startReady(good, on: thread))
        let set = thread.run { (done: @escaping (Result<RedisReply, RedisError>) -> Void) in
            good.send(["SET", "k", "v"], done)
        }
        #expect(set == .success(.status("OK")))
        thread.sync {
            wrong.start()
            missing.start()
        }
        func refusal(_ client: RedisClient) -> RedisError? {
            guard case .waitingToReconnect(_, _, let error) = client.status.state else { return nil }
            return error
        }
        #expect(
            eventually {
                if case .authenticationFailed = refusal(wrong) { return true } else { return false }
            })
        #expect(
            eventually {
                if case .authenticationFailed(let message) = refusal(missing) { return message.hasPrefix("NOAUTH") }
                return false
            })
        thread.sync {
            good.close()
            wrong.close()
            missing.close()
        }
    }

    @Test func anUnreachableServerGivesTypedErrorsNotTraps() throws {
        let port = try freeLoopbackPort()  // nothing listens here
        let thread = try LoopThread()
        let refused = try RedisClient(
            url: RedisURL(host: "127.0.0.1", port: port), loop: thread.loop, options: Self.quick)
        let unknown = try RedisClient(
            url: RedisURL(host: "no-such-host.invalid", port: 6379), loop: thread.loop, options: Self.quick)
        thread.sync {
            refused.start()
            unknown.start()
        }
        #expect(
            eventually {
                guard case .waitingToReconnect(let attempt, _, .connectFailed) = refused.status.state else {
                    return false
                }
                return attempt >= 3  // it keeps trying, with backoff
            })
        #expect(
            eventually {
                guard case .waitingToReconnect(_, _, .connectFailed(let why)) = unknown.status.state else {
                    return false
                }
                return why.contains("cannot resolve")
            })
        let notConnected = thread.run { (done: @escaping (Result<Int64, RedisError>) -> Void) in
            refused.incr("x", done)
        }
        #expect(notConnected == .failure(.notConnected))
        thread.sync {
            refused.close()
            unknown.close()
        }
        let closed = thread.run { (done: @escaping (Result<Int64, RedisError>) -> Void) in refused.incr("x", done) }
        #expect(closed == .failure(.closed))
        #expect(refused.status.state == .closed)
    }

    @Test func aRedisThatStopsAnsweringTimesCommandsOutAndIsReconnected() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let client = try RedisClient(
            url: RedisURL(host: "127.0.0.1", port: server.port), loop: thread.loop, options: Self.quick)
        #expect(startReady(client, on: thread))
        server.freeze(true)
        defer { server.freeze(false) }
        let started = MonotonicClock.nowMilliseconds()
        let result = thread.run { (done: @escaping (Result<RedisReply, RedisError>) -> Void) in
            client.send(["PING"], done)
        }
        let waited = MonotonicClock.nowMilliseconds() - started
        #expect(result == .failure(.timedOut))
        #expect(waited >= 400 && waited < 3_000, "timed out after \(waited) ms")
        server.freeze(false)
        #expect(eventually { client.status.state == .ready })
        thread.sync { client.close() }
    }
}
