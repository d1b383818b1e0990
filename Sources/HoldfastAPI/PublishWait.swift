public import HoldfastHTTP
import HoldfastJSON
import Synchronization

/// A `new_msg` publish to one or more rooms waiting for their answers; replies once, with all of them, in topic
/// order: `{"id"}` (or the error) for one topic, `{"results": [...]}` for several.
///
/// A binary upgrade carries the wait with the connection that awaits it (``awaited``): the topics still waiting
/// have their message pending in the room under their ticket, and the new process resumes the wait
/// (``init(resuming:reply:)``) and finishes each topic when its room answers that ticket. Safe from any thread.
public final class PublishWait: Sendable {
    private let topics: [String]
    private let keepAlive: Bool
    private let states: Mutex<[PublishState]>
    private let reply: @Sendable (HTTPResponse) -> Void

    /// A wait for `topics`, each published under the ticket at the same index.
    init(topics: [String], tickets: [UInt64], keepAlive: Bool, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        self.topics = topics
        self.keepAlive = keepAlive
        states = Mutex(tickets.map { .waiting(ticket: $0) })
        self.reply = reply
    }

    /// A wait handed over by the previous process, to ``resume()`` once the rooms are back.
    public init(resuming awaited: AwaitedPublish, reply: @escaping @Sendable (HTTPResponse) -> Void) {
        topics = awaited.topics.map(\.topic)
        keepAlive = awaited.keepAlive
        states = Mutex(awaited.topics.map(\.state))
        self.reply = reply
    }

    /// The topic at `index` is answered (only its first answer counts); the reply goes out with the last one.
    public func finish(_ index: Int, _ result: Result<Int64, APIError>) {
        let complete = states.withLock { states -> [Result<Int64, APIError>]? in
            guard states.indices.contains(index), case .waiting = states[index] else { return nil }
            states[index] = .done(result)
            let results = states.results
            return results.count == states.count ? results : nil
        }
        if let complete { reply(Self.response(topics: topics, results: complete)) }
    }

    /// The topics still waiting for their room, with their index and ticket, for the rooms' answers (see
    /// ``finish(_:_:)``); replies now if none is.
    public func resume() -> [(index: Int, topic: String, ticket: UInt64)] {
        let (waiting, results) = states.withLock { states in
            let waiting = states.indices.compactMap { index -> (Int, String, UInt64)? in
                guard case .waiting(let ticket) = states[index] else { return nil }
                return (index, topics[index], ticket)
            }
            return (waiting, states.results)
        }
        if waiting.isEmpty { reply(Self.response(topics: topics, results: results)) }
        return waiting
    }

    /// Where the wait stands, for a binary upgrade.
    public var awaited: AwaitedPublish {
        let states = self.states.withLock { $0 }
        return AwaitedPublish(
            keepAlive: keepAlive, topics: zip(topics, states).map { AwaitedPublish.Topic(topic: $0, state: $1) })
    }

    /// The answer to a publish: `{"id"}` (or the error) for one topic, `{"results": [...]}` for several.
    static func response(topics: [String], results: [Result<Int64, APIError>]) -> HTTPResponse {
        if results.count == 1 { return APIService.publishResponse(results[0]) }
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
        return jsonResponse(.object([JSONMember("results", .array(items))]))
    }
}

/// Where one topic of a server API publish stands.
public enum PublishState: Sendable, Equatable {
    /// Waiting for its room, which holds the message pending under this ticket.
    case waiting(ticket: UInt64)
    /// Answered: the message's id, or why not.
    case done(Result<Int64, APIError>)
}

/// A server API publish whose answer is still owed, as a binary upgrade carries it with the connection that
/// awaits it.
public struct AwaitedPublish: Sendable, Equatable {
    /// One topic of the publish.
    public struct Topic: Sendable, Equatable {
        public var topic: String
        public var state: PublishState

        /// A topic and where it stands.
        public init(topic: String, state: PublishState) {
            self.topic = topic
            self.state = state
        }
    }

    /// Whether the request asked to keep the connection open.
    public var keepAlive: Bool
    /// The topics in request order: one for `/api/publish`, one or more for `/api/broadcast`.
    public var topics: [Topic]

    /// An awaited publish.
    public init(keepAlive: Bool, topics: [Topic]) {
        self.keepAlive = keepAlive
        self.topics = topics
    }
}

extension [PublishState] {
    /// The answers so far, in order (the waiting topics left out).
    fileprivate var results: [Result<Int64, APIError>] {
        compactMap { state in
            guard case .done(let result) = state else { return nil }
            return result
        }
    }
}
