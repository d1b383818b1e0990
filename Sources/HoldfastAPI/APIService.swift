public import HoldfastConfig
public import HoldfastHTTP
import HoldfastJSON
import Synchronization

/// Answers the server API's requests: key, scope, rate limit, then the call through the ``APIBackend``.
public final class APIService: Sendable {
    public let keys: APIKeyRing
    public let notBefore: NotBeforeStore
    private let backend: any APIBackend
    private let limiter: Mutex<RateLimiter>
    private let monotonicMilliseconds: @Sendable () -> Int64
    private let wallMilliseconds: @Sendable () -> Int64
    /// Numbers publishes for their rooms (see ``APIBackend/publishMessage(topic:user:body:clientID:ticket:completion:)``).
    private let tickets = Atomic<UInt64>(0)
    /// The cluster's other nodes, once attached (nil: a single node).
    private let peers = Mutex<(any APIPeers)?>(nil)

    public init(
        configuration: Configuration.APISection, backend: any APIBackend, notBefore: NotBeforeStore,
        monotonicMilliseconds: @escaping @Sendable () -> Int64, wallMilliseconds: @escaping @Sendable () -> Int64
    ) {
        keys = APIKeyRing(keys: configuration.keys)
        self.backend = backend
        self.notBefore = notBefore
        limiter = Mutex(
            RateLimiter(perSecond: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst))
        self.monotonicMilliseconds = monotonicMilliseconds
        self.wallMilliseconds = wallMilliseconds
    }

    /// Makes this node's API cluster-wide: disconnects reach every node, presence is the room's on every node.
    public func attach(peers: any APIPeers) { self.peers.withLock { $0 = peers } }

    /// Another node's `POST /api/disconnect`: refuse the user's older tokens here too (this node's state dir), then
    /// close the user's sockets on this node.
    public func peerDisconnect(user: String, code: UInt16, reason: String, notBefore seconds: Int64?) {
        if let seconds { notBefore.refuse(user: user, before: seconds) }
        backend.disconnect(user: user, code: code, reason: reason) { _ in }
    }

    /// Answers `request` through `reply`, exactly once. Returns the wait of a `new_msg` publish, which a binary
    /// upgrade carries to the new process while it is not answered (``PublishWait/awaited``).
    @discardableResult
    public func handle(_ request: HTTPRequest, reply: @escaping @Sendable (HTTPResponse) -> Void) -> PublishWait? {
        let (call, key): (APICall, APIKeySpec)
        switch admit(request) {
        case .failure(let error):
            reply(error.response)
            return nil
        case .success(let admitted):
            (call, key) = admitted
        }
        if case .publish(let topics, let event, let payload, let asUser) = call {
            return publish(
                topics: topics, event: event, payload: payload, user: asUser ?? key.name, keepAlive: request.keepAlive,
                reply: reply)
        }
        perform(call, key: key, reply: reply)
        return nil
    }

    /// Key, rate limit, parsing and scope: the call and its key, or the refusal.
    private func admit(_ request: HTTPRequest) -> Result<(APICall, APIKeySpec), APIError> {
        guard let key = keys.key(authorization: request.header("Authorization")) else {
            return .failure(APIError(.unauthorized, "unauthorized", "a valid API key is required as a bearer token"))
        }
        let now = monotonicMilliseconds()
        if let wait = limiter.withLock({ $0.admit(key.name, now: now) }) {
            return .failure(
                APIError(
                    .tooManyRequests, "rate_limited", "key '\(key.name)' is over its rate limit",
                    retryAfterSeconds: wait))
        }
        let call: APICall
        do {
            call = try APICall.parse(request)
        } catch {
            return .failure(error)
        }
        guard key.scopes.contains(call.scope) else {
            return .failure(
                APIError(.forbidden, "missing_scope", "key '\(key.name)' lacks the '\(call.scope.rawValue)' scope"))
        }
        return .success((call, key))
    }

    private func perform(_ call: APICall, key: APIKeySpec, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        switch call {
        case .publish:
            break  // see `handle`
        case .presence(let topic):
            guard let peers = peers.withLock({ $0 }) else {
                return backend.presence(topic: topic) { reply(jsonResponse($0)) }
            }
            peers.presence(topic: topic) { reply($0.map { jsonResponse($0) } ?? Self.presenceUnavailable.response) }
        case .presenceStats(let topic):
            guard let peers = peers.withLock({ $0 }) else {
                return backend.presenceStats(topic: topic) { reply(jsonResponse($0)) }
            }
            peers.presence(topic: topic) {
                reply($0.map { jsonResponse(Self.stats(of: $0)) } ?? Self.presenceUnavailable.response)
            }
        case .history(let topic, let sinceID, let limit):
            backend.history(topic: topic, sinceID: sinceID, limit: limit) { result in
                switch result {
                case .success(let value): reply(jsonResponse(value))
                case .failure(let error): reply(error.response)
                }
            }
        case .disconnect(let user, let code, let reason, let refuseOlderTokens):
            let notBeforeSeconds: Int64? = refuseOlderTokens ? wallMilliseconds() / 1000 : nil
            if let seconds = notBeforeSeconds, !notBefore.refuse(user: user, before: seconds) {
                return reply(
                    APIError(.internalServerError, "storage_failed", "cannot write \(notBefore.path)").response)
            }
            peers.withLock { $0 }?.disconnect(user: user, code: code, reason: reason, notBefore: notBeforeSeconds)
            backend.disconnect(user: user, code: code, reason: reason) { closed in
                var members = [JSONMember("closed", .integer(Int64(closed)))]
                if let notBeforeSeconds { members.append(JSONMember("not_before", .integer(notBeforeSeconds))) }
                reply(jsonResponse(.object(members)))
            }
        case .rooms(let after, let limit):
            let all = backend.rooms().sorted { $0.topic < $1.topic }
            let page = all.drop { after != nil && $0.topic <= after! }.prefix(limit)
            let more = page.last.map { last in all.last.map { $0.topic > last.topic } ?? false } ?? false
            reply(
                jsonResponse(
                    .object([
                        JSONMember(
                            "rooms",
                            .array(
                                page.map {
                                    .object([
                                        JSONMember("topic", .string($0.topic)),
                                        JSONMember("members", .integer(Int64($0.members))),
                                    ])
                                })),
                        JSONMember("next", more ? .string(page.last!.topic) : .null),
                    ])))
        }
    }

    /// The answer to a publish to one room: `{"id"}`, or the error.
    static func publishResponse(_ result: Result<Int64, APIError>) -> HTTPResponse {
        switch result {
        case .success(let id): jsonResponse(.object([JSONMember("id", .integer(id))]))
        case .failure(let error): error.response
        }
    }

    /// Publishes to every topic; answers once all are done: `{"id"}` for one topic, `{"results": [...]}` for a
    /// broadcast. A `new_msg` publish returns its wait.
    private func publish(
        topics: [String], event: String, payload: JSONValue, user: String, keepAlive: Bool,
        reply: @escaping @Sendable (HTTPResponse) -> Void
    ) -> PublishWait? {
        guard event == "new_msg" else {
            for topic in topics { backend.broadcastEvent(topic: topic, event: event, payload: payload) }
            let results = topics.map { JSONValue.object([JSONMember("topic", .string($0))]) }
            reply(
                jsonResponse(
                    topics.count == 1
                        ? .object([JSONMember("ok", .bool(true))]) : .object([JSONMember("results", .array(results))])))
            return nil
        }
        let body = payload["body"]?.stringValue ?? ""
        let clientID = payload["client_id"]?.stringValue
        let tickets = topics.map { _ in self.tickets.wrappingAdd(1, ordering: .relaxed).newValue }
        let wait = PublishWait(topics: topics, tickets: tickets, keepAlive: keepAlive, reply: reply)
        for (index, topic) in topics.enumerated() {
            backend.publishMessage(topic: topic, user: user, body: body, clientID: clientID, ticket: tickets[index]) {
                wait.finish(index, $0)
            }
        }
        return wait
    }

    /// Numbers this process's publishes above the tickets a binary upgrade handed over.
    public func continueTickets(after last: UInt64) { tickets.store(last, ordering: .relaxed) }
}
