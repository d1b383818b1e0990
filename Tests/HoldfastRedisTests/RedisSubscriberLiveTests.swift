import HoldfastCore
import HoldfastConfig
import HoldfastRedis
import HoldfastTestSupport
import Synchronization
import Testing

@Suite(.serialized) struct RedisSubscriberLiveTests {
    @Test func deliversPublishedMessagesAcrossConnectionsUntilUnsubscribed() throws {
        let server = try RedisServerProcess()
        let thread = try LoopThread()
        let url = RedisURL(host: "127.0.0.1", port: server.port)
        let publisher = try RedisClient(url: url, loop: thread.loop)
        let subscriber = try RedisSubscriber(url: url, loop: thread.loop)
        let received = Mutex<[String]>([])
        let confirmed = Mutex<[String]>([])
        #expect(startReady(publisher, on: thread))
        thread.sync {
            subscriber.onSubscribed = { channel in confirmed.withLock { $0.append(channel) } }
            // Subscribed before the connection exists: sent once it is ready.
            subscriber.subscribe("room:1") { bytes in
                received.withLock { $0.append("1:" + String(decoding: bytes, as: UTF8.self)) }
            }
            subscriber.start()
        }
        #expect(eventually { confirmed.withLock { $0 } == ["room:1"] })
        thread.sync {
            subscriber.subscribe("room:2") { bytes in
                received.withLock { $0.append("2:" + String(decoding: bytes, as: UTF8.self)) }
            }
        }
        #expect(eventually { confirmed.withLock { $0 } == ["room:1", "room:2"] })

        let receivers = thread.run { (done: @escaping ([Int64]) -> Void) in
            var counts: [Int64] = []
            for (channel, body) in [("room:1", "a"), ("room:2", "b"), ("room:1", "c"), ("room:3", "x")] {
                publisher.publish(channel, Array(body.utf8)) { result in
                    counts.append((try? result.get()) ?? -1)
                    if counts.count == 4 { done(counts) }
                }
            }
        }
        #expect(receivers == [1, 1, 1, 0])
        #expect(eventually { received.withLock { $0 } == ["1:a", "2:b", "1:c"] })

        thread.sync { subscriber.unsubscribe("room:1") }
        // Redis confirms the unsubscribe before it answers a later PUBLISH, so the count is exact once it is 0.
        #expect(
            eventually {
                thread.run { (done: @escaping (Int64) -> Void) in
                    publisher.publish("room:1", Array("late".utf8)) { done((try? $0.get()) ?? -1) }
                } == 0
            })
        #expect(received.withLock { $0 } == ["1:a", "2:b", "1:c"])
        #expect(subscriber.status.state == .ready)
        thread.sync {
            subscriber.close()
            publisher.close()
        }
    }
}
