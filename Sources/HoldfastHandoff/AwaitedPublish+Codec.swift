import HoldfastAPI
import HoldfastBytes
import HoldfastHTTP

/// The trailing section of a server API connection's record while a publish awaits its answer.
///
/// A publish to one room that is still waiting keeps the layout builds before broadcasts were carried wrote
/// (topic, ticket, keep-alive), so upgrades between those builds and this one work both ways for it. Anything
/// else (several topics, or topics already answered) starts with an empty topic, which no publish has, and lists
/// every topic with where it stands; an older build reads the empty topic and then fails on the bytes it does not
/// expect, so it refuses the upgrade (the old process rolls back) rather than drop the answer.
extension AwaitedPublish {
    enum Kind: UInt8 {
        case waiting = 0
        case stored = 1
        case failed = 2
    }

    func encode(into out: inout ByteWriter) {
        // The short form only for a named topic: an empty name is what marks the long form.
        if topics.count == 1, !topics[0].topic.isEmpty, case .waiting(let ticket) = topics[0].state {
            out.string(topics[0].topic)
            out.unsigned(ticket)
            out.bool(keepAlive)
            return
        }
        out.string("")
        out.unsigned(0)
        out.bool(keepAlive)
        out.unsigned(UInt64(topics.count))
        for item in topics {
            out.string(item.topic)
            switch item.state {
            case .waiting(let ticket):
                out.byte(Kind.waiting.rawValue)
                out.unsigned(ticket)
            case .done(.success(let id)):
                out.byte(Kind.stored.rawValue)
                out.signed(id)
            case .done(.failure(let error)):
                out.byte(Kind.failed.rawValue)
                out.int(error.status.rawValue)
                out.string(error.code)
                out.string(error.message)
                out.int(error.retryAfterSeconds ?? -1)
            }
        }
    }

    init(decoding input: inout ByteReader) throws(ByteReadError) {
        let topic = try input.string()
        let ticket = try input.unsigned()
        let keepAlive = try input.bool()
        guard topic.isEmpty else {
            self.init(keepAlive: keepAlive, topics: [Topic(topic: topic, state: .waiting(ticket: ticket))])
            return
        }
        let count = try input.count(minimumSize: 2)
        guard count > 0 else { throw ByteReadError.invalid("an awaited publish without topics") }
        var topics: [Topic] = []
        for _ in 0..<count {
            let name = try input.string()
            switch Kind(rawValue: try input.byte()) {
            case .waiting?:
                topics.append(Topic(topic: name, state: .waiting(ticket: try input.unsigned())))
            case .stored?:
                topics.append(Topic(topic: name, state: .done(.success(try input.signed()))))
            case .failed?:
                let status = HTTPStatus(rawValue: try input.int())
                let code = try input.string()
                let message = try input.string()
                let retry = try input.int()
                let error = APIError(status, code, message, retryAfterSeconds: retry < 0 ? nil : retry)
                topics.append(Topic(topic: name, state: .done(.failure(error))))
            case nil:
                throw ByteReadError.invalid("unknown state of an awaited publish's topic")
            }
        }
        self.init(keepAlive: keepAlive, topics: topics)
    }
}
