public import HoldfastConfig
public import HoldfastCore
public import HoldfastJSON
public import HoldfastRedis
public import HoldfastRooms
public import Logging
public import HoldfastClusterPresence
import Synchronization

/// A node's link to the cluster: per event loop one command connection (a room stores and reads on its own
/// loop, without a thread hop), per node one pub/sub connection on loop 0 that routes each bus message to its
/// room's mailbox, once per room (not per member).
///
/// Routing by `kind` (``BusEnvelope``): `msg` and `event` go to the room; any other kind goes to the hook
/// registered with ``onKind(_:_:)`` (presence). Events this node published itself are dropped on the way back
/// (it delivered them locally already); messages are not (every node, this one included, delivers them in
/// Redis's order).
///
/// Thread ownership: created before the loops run; routes and subscriptions live on loop 0, each command
/// connection on its loop; ``status`` and ``storesIdle`` from any thread.
public final class ClusterBus: @unchecked Sendable {
    /// This node's name (`cluster.node_name`).
    public let nodeName: String
    /// This process's instance: the node name and a random token (a binary upgrade's new process gets its own).
    public let origin: String
    let loops: [EventLoop]
    let clients: [RedisClient]
    /// Per loop: commands waiting for the connection's first login (see ``whenStarted(on:_:)``).
    private let startups: [LinkStartup]
    private let connectTimeoutMilliseconds: Int64
    let subscriber: RedisSubscriber
    /// `MAXLEN ~` of each room's Stream.
    let historyPerRoom: Int
    let logger: Logger
    private let batchesInFlight = Atomic<Int>(0)
    private let registry = Mutex<(any ClusterNodeRegistry)?>(nil)
    // Loop 0 only.
    private var routes: [String: @Sendable (ClusterRoomInput) -> Void] = [:]
    // Set by other modules (presence) at any time, from any thread.
    private let kindHooks = Mutex<[String: @Sendable (String, BusEnvelope) -> Void]>([:])
    private let presenceHook = Mutex<(@Sendable (String, RoomBroadcast) -> Void)?>(nil)
    /// Presence across nodes: the node registry and the rooms' drivers.
    public let presence: ClusterPresenceHub

    /// The bus for `configuration`, or nil when `cluster.redis_url` is empty (a single node).
    public init?(configuration: Configuration, loops: [EventLoop], logger: Logger) throws(RedisError) {
        guard let url = configuration.cluster.redis else { return nil }
        nodeName = configuration.clusterNodeName()
        origin = nodeName + "#" + String(UInt64.random(in: 1...UInt64.max), radix: 36)
        self.loops = loops
        self.logger = logger
        historyPerRoom = max(1, configuration.channels.historyPerRoom)
        let options = RedisClientOptions(clientName: "holdfast:" + nodeName)
        connectTimeoutMilliseconds = options.connectTimeoutMilliseconds
        var clients: [RedisClient] = []
        for loop in loops { clients.append(try RedisClient(url: url, loop: loop, options: options)) }
        self.clients = clients
        startups = loops.map { _ in LinkStartup() }
        subscriber = try RedisSubscriber(url: url, loop: loops[0], options: options)
        presence = ClusterPresenceHub(configuration: configuration, client: clients[0], loops: loops, logger: logger)
        registry.withLock { $0 = RegistryNodes(hub: presence) }
    }

    /// Registers `hook` for bus envelopes of `kind` (not `msg` or `event`); it runs on loop 0 with the room's
    /// topic. Any thread, any time (envelopes of a kind without a hook are dropped, logged at debug level).
    public func onKind(_ kind: String, _ hook: @escaping @Sendable (String, BusEnvelope) -> Void) {
        kindHooks.withLock { $0[kind] = hook }
    }

    /// Registers where each room's local presence diffs go (its topic and the `presence_diff` broadcast, as its
    /// local members get it); it runs on the room's loop. Without it a diff stays on its node. Any thread.
    public func onPresenceDiff(_ hook: @escaping @Sendable (String, RoomBroadcast) -> Void) {
        presenceHook.withLock { $0 = hook }
    }

    /// Hands a room's local presence diff to the hook, if one is registered.
    func presenceDiff(_ topic: String, _ broadcast: RoomBroadcast) {
        presenceHook.withLock { $0 }?(topic, broadcast)
    }

    /// The node registry whose live nodes `/admin/status` lists.
    public func attach(registry: any ClusterNodeRegistry) { self.registry.withLock { $0 = registry } }

    /// Connects every link (each on its loop) and starts the node registry; commands wait for both (see
    /// ``whenStarted(on:_:)``).
    public func start() {
        let startups = startups
        presence.onRegistered = { loop in startups[loop.index].registered() }
        for client in clients {
            client.loop.execute { [self] in
                let logger = logger
                let startup = startups[client.loop.index]
                client.onStateChange = { state in
                    logger.info("redis link", metadata: ["state": "\(state.name)", "loop": "\(client.loop.index)"])
                    guard state == .ready else { return }
                    // Loaded on every new connection (a restarted Redis has an empty script cache).
                    client.send(["SCRIPT", "LOAD", RedisArgument(StoreScript.source)]) { _ in }
                    startup.linked()
                    self.presence.linkReady(on: client.loop)
                }
                client.start()
            }
        }
        subscriber.loop.execute { [self] in
            subscriber.onSubscribed = { [unowned self] channel in routes[channel]?(.subscribed) }
            subscriber.start()
        }
    }

    /// Waits (blocking, at start, with the loops running) until this node holds its name in the cluster; see
    /// ``ClusterPresenceHub/awaitRegistration(connectMilliseconds:)``.
    ///
    /// - Throws: ``NodeRegistryError/nameTaken(name:holder:)``: `holdfast serve` refuses to start.
    public func awaitRegistration() throws(NodeRegistryError) {
        try presence.awaitRegistration(connectMilliseconds: connectTimeoutMilliseconds + 500)
    }

    /// A binary upgrade holds (or, rolled back, releases) the node: see
    /// ``ClusterPresenceHub/handingOver(_:loginMilliseconds:)``; the new process's first login takes at most the
    /// connect timeout plus 0.5 s (as in ``whenStarted(on:_:)``). Any thread but the loops.
    public func handingOver(_ active: Bool) {
        presence.handingOver(active, loginMilliseconds: connectTimeoutMilliseconds + 500)
    }

    /// Graceful shutdown (not an upgrade): this node's presence leaves every room (one diff each) and its name is
    /// released, then every link closes.
    public func shutdown() {
        presence.leave()
        close()
    }

    /// Closes every link.
    public func close() {
        for client in clients { client.loop.execute { client.close() } }
        subscriber.loop.execute { [subscriber] in subscriber.close() }
    }

    /// The SHA-1 the store script runs under (`EVALSHA`).
    public var scriptSHA1: String { StoreScript.sha1 }

    /// Whether no store batch is waiting for Redis (a binary upgrade drains them before its pause).
    public var storesIdle: Bool { batchesInFlight.load(ordering: .acquiring) == 0 }

    /// The `cluster` object of `/admin/status`.
    public var status: JSONValue {
        func link(_ status: RedisLinkStatus) -> JSONValue {
            .object([
                JSONMember("state", .string(status.state.name)), JSONMember("address", .string(status.address)),
                JSONMember("connections", .integer(Int64(status.connections))),
                JSONMember("last_error", status.lastError.map { .string($0) } ?? .null),
            ])
        }
        let nodes = registry.withLock { $0?.liveNodes }
        let ready = clients.allSatisfy { $0.status.state == .ready } && subscriber.status.state == .ready
        return .object([
            JSONMember("node", .string(nodeName)), JSONMember("instance", .string(origin)),
            JSONMember("redis", .string(ready ? "ready" : "degraded")),
            JSONMember("commands", .array(clients.map { link($0.status) })),
            JSONMember("subscriber", link(subscriber.status)),
            JSONMember(
                "nodes",
                nodes.map { list in
                    .array(
                        list.map {
                            .object([
                                JSONMember("name", .string($0.name)),
                                JSONMember("last_heartbeat_ms", .integer($0.lastHeartbeatMilliseconds)),
                            ])
                        })
                } ?? .null),
        ])
    }

    /// The command connection of `loop`.
    func client(for loop: EventLoop) -> RedisClient { clients[loop.index] }

    /// Runs `body` (which sends on `loop`'s connection) now, or, until that connection first logged in, once it
    /// has: the loops of a process start with their connections still opening (a binary upgrade's new process
    /// stores the messages its predecessor left pending at once). After the first login, an outage fails
    /// commands at once, as it should; and if the first login takes longer than the connect timeout, the waiting
    /// commands run then and fail. Loop thread.
    func whenStarted(on loop: EventLoop, _ body: @escaping () -> Void) {
        let startup = startups[loop.index]
        guard !startup.done else { return body() }
        if startup.waiting.isEmpty {
            let limit = connectTimeoutMilliseconds + 500
            _ = loop.schedule(afterMilliseconds: limit) { startup.finish() }
        }
        startup.waiting.append(body)
    }

    /// Publishes an envelope of `kind` on `topic`'s bus from `loop` (presence diffs, events); failures are logged.
    public func publish(topic: String, kind: String, _ members: [JSONMember], on loop: EventLoop) {
        let bytes = BusEnvelope.encode(kind: kind, origin: origin, members)
        let logger = logger
        let client = client(for: loop)
        whenStarted(on: loop) {
            client.publish(ClusterKeys(topic: topic).bus, bytes) { result in
                if case .failure(let error) = result {
                    logger.warning("bus publish failed", metadata: ["room": "\(topic)", "error": "\(error)"])
                }
            }
        }
    }

    /// Routes `topic`'s bus to `route` and subscribes. Any thread.
    func subscribe(_ topic: String, route: @escaping @Sendable (ClusterRoomInput) -> Void) {
        let channel = ClusterKeys(topic: topic).bus
        subscriber.loop.execute { [self] in
            routes[channel] = route
            subscriber.subscribe(channel) { [unowned self] bytes in deliver(bytes, topic: topic, route: route) }
        }
    }

    /// Stops routing `topic`'s bus. Any thread.
    func unsubscribe(_ topic: String) {
        let channel = ClusterKeys(topic: topic).bus
        subscriber.loop.execute { [self] in
            routes.removeValue(forKey: channel)
            subscriber.unsubscribe(channel)
        }
    }

    private func deliver(_ bytes: [UInt8], topic: String, route: (ClusterRoomInput) -> Void) {
        guard let envelope = BusEnvelope(bytes) else {
            logger.warning("bus message not understood, dropped", metadata: ["room": "\(topic)"])
            return
        }
        switch envelope {
        case .message:
            route(.bus(envelope))
        case .event(_, _, let from):
            if from != origin { route(.bus(envelope)) }
        case .other(let kind, _, _):
            if kind == "presence" { route(.bus(envelope)) }
            if let hook = kindHooks.withLock({ $0[kind] }) {
                hook(topic, envelope)
            } else if kind != "presence" {
                logger.debug("bus kind without a handler", metadata: ["kind": "\(kind)", "room": "\(topic)"])
            }
        }
    }

    /// Runs the store script once per message, pipelined on `loop`'s connection; `completion` gets each
    /// message's id (nil: not stored: Redis away, an error, a timeout), on `loop`.
    func store(
        _ messages: [ChatMessage], topic: String, floor: Int64, on loop: EventLoop,
        completion: @escaping ([Int64?]) -> Void
    ) {
        let client = client(for: loop)
        let keys = ClusterKeys(topic: topic)
        batchesInFlight.add(1, ordering: .relaxed)
        var ids = [Int64?](repeating: nil, count: messages.count)
        var remaining = messages.count
        let finish = { [self] in
            // The answer reaches the room's mailbox before the batch stops counting, so a binary upgrade that
            // saw no batch in flight finds every answer ahead of its export in the mailbox.
            completion(ids)
            batchesInFlight.subtract(1, ordering: .releasing)
        }
        guard !messages.isEmpty else { return finish() }
        whenStarted(on: loop) { [self] in
            for (index, message) in messages.enumerated() {
                let (prefix, suffix) = BusEnvelope.messageParts(message, origin: origin)
                let arguments: [RedisArgument] = [
                    "3", RedisArgument(keys.sequence), RedisArgument(keys.log), RedisArgument(keys.bus),
                    RedisArgument(historyPerRoom), RedisArgument(floor), RedisArgument(message.user),
                    RedisArgument(message.body), RedisArgument(message.timestamp),
                    RedisArgument(message.clientID ?? ""),
                    RedisArgument(bytes: prefix), RedisArgument(bytes: suffix),
                    RedisArgument(Int64(message.kind.rawValue)), RedisArgument(message.target),
                ]
                let done: (Result<RedisReply, RedisError>) -> Void = { [logger] result in
                    switch result {
                    case .success(.integer(let id)): ids[index] = id
                    case .success(let reply):
                        logger.error("store script: unexpected reply", metadata: ["reply": "\(reply)"])
                    case .failure(let error):
                        logger.warning("message not stored", metadata: ["room": "\(topic)", "error": "\(error)"])
                    }
                    remaining -= 1
                    if remaining == 0 { finish() }
                }
                client.send(["EVALSHA", RedisArgument(StoreScript.sha1)] + arguments) { result in
                    // Redis lost its script cache (a restart, SCRIPT FLUSH): EVAL runs it and caches it again.
                    if case .failure(.server(let text)) = result, text.hasPrefix("NOSCRIPT") {
                        client.send(["EVAL", RedisArgument(StoreScript.source)] + arguments, done)
                    } else {
                        done(result)
                    }
                }
            }
        }
    }

    /// Reads `topic`'s Stream after `afterID`, at most `count` entries, on `loop`.
    func read(
        _ topic: String, after afterID: Int64, count: Int, on loop: EventLoop,
        completion: @escaping (Result<[ChatMessage], RedisError>) -> Void
    ) {
        let client = client(for: loop)
        whenStarted(on: loop) {
            client.xrange(ClusterKeys(topic: topic).log, from: "(0-\(afterID)", to: "+", count: count) {
                completion($0.map { $0.compactMap(Self.message) })
            }
        }
    }

    /// Reads `topic`'s Stream after `afterID`, at most `count` entries, on the command connection of the loop this
    /// is called on (which must be one of the bus's loops).
    public func read(
        _ topic: String, after afterID: Int64, count: Int,
        completion: @escaping (Result<[ChatMessage], RedisError>) -> Void
    ) {
        guard let loop = loops.first(where: \.isInLoop) else { return completion(.failure(.notConnected)) }
        read(topic, after: afterID, count: count, on: loop, completion: completion)
    }

    /// A Stream entry as a history entry (its entry id `0-N` is the entry's id; `k` and `g`, present for edits and
    /// deletes only, are its kind and target).
    static func message(_ entry: RedisStreamEntry) -> ChatMessage? {
        guard let user = entry["u"], let body = entry["b"] else { return nil }
        let number = { (field: String) in entry[field].flatMap { Int64(String(decoding: $0, as: UTF8.self)) } }
        let clientID = entry["c"].flatMap { $0.isEmpty ? nil : String(decoding: $0, as: UTF8.self) }
        guard let kind = ChatMessage.Kind(rawValue: UInt8(clamping: number("k") ?? 0)) else { return nil }
        return ChatMessage(
            id: Int64(entry.id.sequence), user: String(decoding: user, as: UTF8.self),
            body: String(decoding: body, as: UTF8.self), timestamp: number("t") ?? 0, clientID: clientID,
            kind: kind, target: number("g") ?? 0)
    }
}

/// A command connection's first login (and the node's registration), and the commands waiting for them. Its loop's
/// thread only.
final class LinkStartup: @unchecked Sendable {
    private(set) var done = false
    var waiting: [() -> Void] = []
    private var isLinked = false
    private var isRegistered = false

    /// The connection logged in.
    func linked() {
        isLinked = true
        if isRegistered { finish() }
    }

    /// The node registry holds the node's name.
    func registered() {
        isRegistered = true
        if isLinked { finish() }
    }

    /// Logged in (or given up on): the waiting commands go out, in order, and later ones are not held.
    func finish() {
        guard !done else { return }
        done = true
        let ready = waiting
        waiting = []
        for body in ready { body() }
    }
}
