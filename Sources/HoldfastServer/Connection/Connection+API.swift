import HoldfastAPI
import HoldfastCore
import HoldfastHTTP
import Logging

extension Connection {
    /// The server API's listener: one request at a time, in order (see ``APIRequestReader``); the service answers
    /// on any thread, the answer is written on this loop. Returns how many bytes of `input` are consumed.
    func readAPIRequests(_ input: UnsafeRawBufferPointer, _ layer: HTTPLayer) -> Int {
        let (step, consumed) = layer.api.next(input, parser: &layer.parser)
        switch step {
        case .request(let request):
            let (target, loop, keepAlive) = (LoopBound(self), loop, request.keepAlive)
            awaitedPublish = context.api?.handle(request) { response in
                loop.execute { target.value?.answerAPI(response, keepAlive: keepAlive) }
            }
            if context.api == nil { respond(.plainText(.notFound, "not found"), keepAlive: false) }
        case .failed(let error):
            logger.info("bad HTTP request", metadata: ["fd": "\(fd)", "status": "\(error.status.rawValue)"])
            respond(APIError.parse(error).response, keepAlive: false)
        case .wait: break
        }
        // Enough waits behind the request being answered: the rest stays in the kernel's buffer until it is.
        if layer.api.isFull(buffered: input.count - consumed, limits: layer.parser.limits), !readingPaused {
            readingPaused = true
            loop.modify(fd: fd, interest: writableRegistered ? .writable : [])
        }
        return consumed
    }

    /// Writes the answer of the request being served (this process's or a handed-over one), then serves the next.
    func answerAPI(_ response: HTTPResponse, keepAlive: Bool) {
        awaitedPublish = nil
        handoffGeneration &+= 1
        guard case .http(let layer?) = state else { return }
        respond(response, keepAlive: keepAlive)
        layer.api.answered()
        if keepAlive && !inbound.isEmpty { ingest(UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
    }

    /// Whether reading waits for the request being answered (see ``APIRequestReader/isFull(buffered:limits:)``).
    var apiInputFull: Bool {
        guard isAPI, case .http(let layer?) = state else { return false }
        return layer.api.isFull(buffered: inbound.count, limits: layer.parser.limits)
    }
}
