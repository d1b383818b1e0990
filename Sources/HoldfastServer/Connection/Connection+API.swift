import HoldfastAPI
import HoldfastCore
import HoldfastHTTP

extension Connection {
    /// The server API's listener: the service answers on any thread; the answer is written on this loop.
    func handleAPI(_ request: HTTPRequest) {
        guard let api = context.api else { return respond(.plainText(.notFound, "not found"), keepAlive: false) }
        let (target, loop, keepAlive) = (LoopBound(self), loop, request.keepAlive)
        api.handle(request) { response in
            loop.execute {
                guard let connection = target.value, connection.phase == .http else { return }
                connection.respond(response, keepAlive: keepAlive)
            }
        }
    }
}
