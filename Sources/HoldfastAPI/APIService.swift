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

    /// Answers `request` through `reply`, exactly once.
    public func handle(_ request: HTTPRequest, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        guard let key = keys.key(authorization: request.header("Authorization")) else {
            return reply(
                APIError(.unauthorized, "unauthorized", "a valid API key is required as a bearer token").response)
        }
        let now = monotonicMilliseconds()
        if let wait = limiter.withLock({ $0.admit(key.name, now: now) }) {
            return reply(
                APIError(
                    .tooManyRequests, "rate_limited", "key '\(key.name)' is over its rate limit",
                    retryAfterSeconds: wait
                ).response)
        }
        let call: APICall
        do {
            call = try APICall.parse(request)
        } catch {
            return reply(error.response)
        }
        guard key.scopes.contains(call.scope) else {
            return reply(
                APIError(.forbidden, "missing_scope", "key '\(key.name)' lacks the '\(call.scope.rawValue)' scope")
                    .response)
        }
        perform(call, key: key, reply: reply)
    }

    private func perform(_ call: APICall, key: APIKeySpec, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        switch call {
        case .publish(let topics, let event, let payload, let asUser):
            publish(topics: topics, event: event, payload: payload, user: asUser ?? key.name, reply: reply)
        case .presence(let topic):
            backend.presence(topic: topic) { reply(jsonResponse($0)) }
        case .presenceStats(let topic):
            backend.presenceStats(topic: topic) { reply(jsonResponse($0)) }
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
    public static func publishResponse(_ result: Result<Int64, APIError>) -> HTTPResponse {
        switch result {
        case .success(let id): jsonResponse(.object([JSONMember("id", .integer(id))]))
        case .failure(let error): error.response
        }
    }

    /// Publishes to every topic; answers once all are done: `{"id"}` for one topic, `{"results": [...]}` for a
    /// broadcast.
    private func publish(
        topics: [String], event: String, payload: JSONValue, user: String,
        reply: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let single = topics.count == 1
        guard event == "new_msg" else {
            for topic in topics { backend.broadcastEvent(topic: topic, event: event, payload: payload) }
            let results = topics.map { JSONValue.object([JSONMember("topic", .string($0))]) }
            return reply(
                jsonResponse(
                    single
                        ? .object([JSONMember("ok", .bool(true))]) : .object([JSONMember("results", .array(results))])))
        }
        let body = payload["body"]?.stringValue ?? ""
        let clientID = payload["client_id"]?.stringValue
        let gather = PublishGather(topics: topics) { results in
            if single { return reply(Self.publishResponse(results[0])) }
            let items = zip(topics, results).map { topic, result -> JSONValue in
                switch result {
                case .success(let id): .object([JSONMember("topic", .string(topic)), JSONMember("id", .integer(id))])
                case .failure(let error):
                    .object([
                        JSONMember("topic", .string(topic)),
                        JSONMember(
                            "error",
                            .object([
                                JSONMember("code", .string(error.code)), JSONMember("message", .string(error.message)),
                            ])),
                    ])
                }
            }
            reply(jsonResponse(.object([JSONMember("results", .array(items))])))
        }
        for (index, topic) in topics.enumerated() {
            backend.publishMessage(topic: topic, user: user, body: body, clientID: clientID) {
                gather.finish(index, $0)
            }
        }
    }
}

/// Collects the answers of a publish to several rooms and calls `done` once with all of them, in topic order.
final class PublishGather: Sendable {
    private let results: Mutex<[Result<Int64, APIError>?]>
    private let done: @Sendable ([Result<Int64, APIError>]) -> Void

    init(topics: [String], done: @escaping @Sendable ([Result<Int64, APIError>]) -> Void) {
        results = Mutex(Array(repeating: nil, count: topics.count))
        self.done = done
    }

    func finish(_ index: Int, _ result: Result<Int64, APIError>) {
        let complete = results.withLock { results -> [Result<Int64, APIError>]? in
            results[index] = result
            let all = results.compactMap { $0 }
            return all.count == results.count ? all : nil
        }
        if let complete { done(complete) }
    }
}
