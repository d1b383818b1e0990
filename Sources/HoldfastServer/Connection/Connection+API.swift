import HoldfastAPI
import HoldfastCore
import HoldfastHTTP
import HoldfastHandoff

extension Connection {
    /// The server API's listener: the service answers on any thread; the answer is written on this loop. The
    /// publishes it waits for are noted, so a binary upgrade can move the wait with the connection.
    func handleAPI(_ request: HTTPRequest) {
        guard let api = context.api else { return respond(.plainText(.notFound, "not found"), keepAlive: false) }
        let (target, loop, keepAlive) = (LoopBound(self), loop, request.keepAlive)
        let note: @Sendable (String, UInt64) -> Void = {
            target.value?.awaitedPublishes.append(AwaitedPublish(topic: $0, ticket: $1, keepAlive: keepAlive))
        }
        PublishNote.$current.withValue(note) {
            api.handle(request) { response in loop.execute { target.value?.answerAPI(response, keepAlive: keepAlive) } }
        }
    }

    /// Writes the answer of the awaited request (from this process's call or a handed-over wait).
    func answerAPI(_ response: HTTPResponse, keepAlive: Bool) {
        awaitedPublishes = []
        handoffGeneration &+= 1
        if phase == .http { respond(response, keepAlive: keepAlive) }
    }

}
