import Glibc
import HoldfastChannels
import HoldfastCluster
import HoldfastConfig
import HoldfastCore
import HoldfastJSON
import HoldfastRedis
import HoldfastRooms
import HoldfastTestSupport
import Logging
import Synchronization
import Testing

/// A room link on a loop of its own with what it hands the room recorded: the ids delivered, the batches
/// sequenced, and the history reads answered.
final class RoomProbe: @unchecked Sendable {
    let thread: LoopThread
    let bus: ClusterBus
    private(set) var room: ClusterRoom<String>!
    let delivered = Mutex<[Int64]>([])
    let sequenced = Mutex<[[Int64?]]>([])
    let histories = Mutex<[[Int64]]>([])
    let handled = Mutex<[String]>([])

    init(port: UInt16, node: String, topic: String = "room:t") throws {
        thread = try LoopThread()
        var configuration = Configuration()
        configuration.cluster.redisURL = "redis://127.0.0.1:\(port)"
        configuration.cluster.nodeName = node
        guard let bus = try ClusterBus(configuration: configuration, loops: [thread.loop], logger: Logger(label: node))
        else { throw SystemError("no bus") }
        self.bus = bus
        let loop = thread.loop
        thread.sync { [self] in
            room = ClusterRoom(topic: topic, bus: bus, loop: loop, lastID: 0, current: false) { [self] input in
                loop.execute { [self] in apply(input) }
            }
        }
        bus.start()
    }

    private func apply(_ input: ClusterRoomInput) {
        room.handle(input) { event in
            switch event {
            case .delivered(let messages, _): delivered.withLock { $0 += messages.map(\.id) }
            case .sequenced(_, let ids): sequenced.withLock { $0.append(ids) }
            case .historyRead(_, let messages, _): histories.withLock { $0.append(messages.map(\.id)) }
            default: break
            }
        }
        for message in room.releaseHeld() { handled.withLock { $0.append(message) } }
    }

    /// A member arrives: the room reads its sequence, subscribes, and then lets the join through.
    func join() {
        thread.sync { [self] in
            if room.admit("join", isJoin: true) { handled.withLock { $0.append("join") } }
        }
        #expect(eventually { handled.withLock { $0 } == ["join"] })
        thread.sync { [self] in room.membersChanged(1) }
    }

    func store(_ bodies: [String], batch: Int) {
        thread.sync { [self] in
            room.store(
                batch: batch,
                messages: bodies.map { ChatMessage(id: -1, user: "ann", body: $0, timestamp: 7, clientID: nil) }
            ) { _ in }
        }
    }
}

/// Runs one command on a plain client of its own.
func command(_ port: UInt16, _ arguments: [RedisArgument]) -> Result<RedisReply, RedisError>? {
    guard let thread = try? LoopThread(),
        let client = try? RedisClient(url: RedisURL(host: "127.0.0.1", port: port), loop: thread.loop)
    else { return nil }
    defer { thread.sync { client.close() } }
    thread.sync { client.start() }
    guard eventually(timeout: 5_000, { client.status.state == .ready }) else { return nil }
    return thread.run { (done: @escaping (Result<RedisReply, RedisError>) -> Void) in client.send(arguments, done) }
}

/// Whether the live tests can start a `redis-server` (scripts/setup.sh installs it).
let redisServerInstalled = access("/usr/bin/redis-server", X_OK) == 0

@Suite(.serialized, .enabled(if: redisServerInstalled, "redis-server is not installed (scripts/setup.sh installs it)"))
struct ClusterBusLiveTests {
    @Test func everyNodeDeliversEachStoredMessageOnceInTheStoresOrder() throws {
        let server = try RedisServerProcess()
        let nodes = try [RoomProbe(port: server.port, node: "a"), RoomProbe(port: server.port, node: "b")]
        #expect(eventually { nodes.allSatisfy { $0.bus.status["redis"]?.stringValue == "ready" } })
        for node in nodes { node.join() }
        // Both subscribed: a message published now reaches both (PUBLISH counts receivers).
        #expect(
            eventually {
                command(server.port, ["PUBSUB", "NUMSUB", "hf:{room:t}:bus"])
                    .flatMap { try? $0.get().array?.last?.integer } == 2
            })
        // Each batch after the previous one's answer: two connections have no order between them.
        nodes[0].store(["1", "2", "3"], batch: 0)
        #expect(eventually { nodes[0].sequenced.withLock { $0.count } == 1 })
        nodes[1].store(["4", "5"], batch: 0)
        #expect(eventually { nodes[1].sequenced.withLock { $0.count } == 1 })
        nodes[0].store(["6"], batch: 1)
        for node in nodes { #expect(eventually { node.delivered.withLock { $0 } == [1, 2, 3, 4, 5, 6] }) }
        #expect(nodes[0].sequenced.withLock { $0 } == [[1, 2, 3], [6]])
        #expect(nodes[1].sequenced.withLock { $0 } == [[4, 5]])
        // The Stream holds them as 0-N with their fields.
        let entries = command(server.port, ["XRANGE", "hf:{room:t}:log", "-", "+"]).flatMap { try? $0.get().array }
        #expect(entries?.count == 6)
        #expect(entries?.first?.array?.first?.string == "0-1")
    }

    @Test func aDuplicateIsDroppedAndAGapIsFilledFromTheStream() throws {
        let server = try RedisServerProcess()
        let node = try RoomProbe(port: server.port, node: "a")
        node.join()
        #expect(
            eventually {
                command(server.port, ["PUBSUB", "NUMSUB", "hf:{room:t}:bus"])
                    .flatMap { try? $0.get().array?.last?.integer } == 1
            })
        node.store(["1"], batch: 0)
        #expect(eventually { node.delivered.withLock { $0 } == [1] })
        // The same message published again (as a resubscription could replay it): dropped.
        let one = #"{"kind":"msg","id":1,"user":"ann","body":"1","ts":7,"node":"x"}"#
        _ = command(server.port, ["PUBLISH", "hf:{room:t}:bus", RedisArgument(one)])
        // Messages 2..4 reach the Stream without reaching the bus (published while this node was away).
        for id in 2...4 {
            let entry: [RedisArgument] = ["u", "bob", "b", "x", "t", "1", "c", ""]
            _ = command(server.port, ["XADD", "hf:{room:t}:log", RedisArgument("0-\(id)")] + entry)
        }
        _ = command(server.port, ["SET", "hf:{room:t}:seq", "4"])
        // Message 5 arrives on the bus: a gap after 1, filled from the Stream before 5 goes out.
        node.store(["5"], batch: 1)
        #expect(eventually { node.delivered.withLock { $0 } == [1, 2, 3, 4, 5] })
        #expect(node.sequenced.withLock { $0 } == [[1], [5]])
    }

    @Test func aFlushedScriptCacheIsLoadedAgainAndAnOutageIsAnErrorNotADrop() throws {
        let server = try RedisServerProcess()
        let node = try RoomProbe(port: server.port, node: "a")
        node.join()
        node.store(["1"], batch: 0)
        #expect(eventually { node.sequenced.withLock { $0 } == [[1]] })
        _ = command(server.port, ["SCRIPT", "FLUSH"])
        node.store(["2"], batch: 1)
        #expect(eventually { node.sequenced.withLock { $0 } == [[1], [2]] })
        let exists = command(server.port, ["SCRIPT", "EXISTS", RedisArgument(node.bus.scriptSHA1)])
        #expect((try? exists?.get())?.array?.first?.integer == 1)
        #expect(eventually { node.delivered.withLock { $0 } == [1, 2] })

        server.stop()
        node.store(["lost"], batch: 2)
        #expect(eventually { node.sequenced.withLock { $0.count } == 3 })
        #expect(node.sequenced.withLock { $0.last } == [nil])
        // Back without its data (no persistence): ids continue above what this node delivered, and the
        // subscription (re-established by the subscriber) delivers them.
        try server.start()
        #expect(eventually(timeout: 15_000) { node.bus.status["redis"]?.stringValue == "ready" })
        var stored: Int64?
        #expect(
            eventually(timeout: 15_000) {
                let before = node.sequenced.withLock { $0.count }
                node.store(["3"], batch: 3 + before)
                guard eventually(timeout: 2_000, { node.sequenced.withLock { $0.count } > before }) else {
                    return false
                }
                stored = node.sequenced.withLock { $0.last?.first ?? nil }
                return stored != nil
            })
        #expect((stored ?? 0) > 2)
        #expect(eventually { node.delivered.withLock { $0 }.last == stored })
    }

    @Test func aRoomUnsubscribesAfterItsLastMemberLeftAndReadsItsSequenceOnTheNextJoin() throws {
        let server = try RedisServerProcess()
        let subscribers = {
            command(server.port, ["PUBSUB", "NUMSUB", "hf:{room:t}:bus"]).flatMap { try? $0.get().array?.last?.integer }
        }
        let node = try RoomProbe(port: server.port, node: "a")
        node.join()
        #expect(eventually { subscribers() == 1 })
        node.thread.sync { node.room.membersChanged(0) }
        #expect(eventually { subscribers() == 0 })
        // Stored by another node while this one has nobody in the room: not delivered here.
        let other = try RoomProbe(port: server.port, node: "b")
        other.store(["x", "y"], batch: 0)
        #expect(eventually { other.sequenced.withLock { $0 } == [[1, 2]] })
        // The next member's join waits for the room's sequence, then the room subscribes again.
        node.thread.sync {
            if node.room.admit("join2", isJoin: true) { node.handled.withLock { $0.append("join2") } }
        }
        #expect(eventually { node.handled.withLock { $0 } == ["join", "join2"] })
        node.thread.sync { node.room.membersChanged(1) }
        #expect(node.delivered.withLock { $0 } == [])
        #expect(eventually { subscribers() == 1 })
        let last = node.thread.run { (done: @escaping (Int64) -> Void) in done(node.room.feed.lastDelivered) }
        #expect(last == 2)
        other.store(["z"], batch: 1)
        #expect(eventually { node.delivered.withLock { $0 } == [3] })
    }

    @Test func otherKindsGoToTheirHookAndPresenceDiffsToThePresenceHook() throws {
        let server = try RedisServerProcess()
        let node = try RoomProbe(port: server.port, node: "a")
        let seen = Mutex<[String]>([])
        node.bus.onKind("presence") { topic, envelope in
            guard case .other(let kind, let body, let origin) = envelope else { return }
            seen.withLock { $0.append("\(topic) \(kind) \(body["diff"]?.stringValue ?? "") \(origin)") }
        }
        node.bus.onPresenceDiff { topic, broadcast in seen.withLock { $0.append("out \(topic) \(broadcast.event)") } }
        node.join()
        #expect(
            eventually {
                command(server.port, ["PUBSUB", "NUMSUB", "hf:{room:t}:bus"]).flatMap {
                    try? $0.get().array?.last?.integer
                } == 1
            })
        let envelope = #"{"kind":"presence","diff":"d1","node":"b#1"}"#
        _ = command(server.port, ["PUBLISH", "hf:{room:t}:bus", RedisArgument(envelope)])
        #expect(eventually { seen.withLock { $0 } == ["room:t presence d1 b#1"] })
        node.thread.sync {
            let diff = RoomBroadcast(event: "presence_diff", v1: nil, v2: Array("[]".utf8), except: [], recipients: 1)
            node.room.relay(diff)
        }
        #expect(seen.withLock { $0 } == ["room:t presence d1 b#1", "out room:t presence_diff"])
        #expect(node.delivered.withLock { $0 } == [])
    }

    @Test func aRecoveringReadHoldsTheMailboxUntilItIsAnswered() throws {
        let server = try RedisServerProcess()
        let node = try RoomProbe(port: server.port, node: "a")
        node.join()
        node.store(["1", "2", "3"], batch: 0)
        #expect(eventually { node.delivered.withLock { $0 } == [1, 2, 3] })
        node.thread.sync {
            let member = Member(connectionID: 9, user: "u", joinRef: "1", version: .v2)
            node.room.readHistory(HistoryRequest(member: member, ref: "1", afterID: 1, limit: 10))
            // Held while the read is in flight, handed back in order after it.
            #expect(!node.room.admit("leave", isJoin: false))
            #expect(!node.room.admit("join2", isJoin: true))
        }
        #expect(eventually { node.handled.withLock { $0 } == ["join", "leave", "join2"] })
        #expect(node.histories.withLock { $0 } == [[2, 3]])
    }
}
