import HoldfastHTTP

/// What a test observes from feeding bytes: each request with the bytes it consumed, then how feeding ended.
struct ParseOutcome: Equatable, CustomStringConvertible {
    var requests: [HTTPRequest] = []
    var error: HTTPParseError?
    /// Bytes the caller still holds at the end (unconsumed after the last request), when no error occurred.
    var leftover: [UInt8] = []

    var description: String {
        let summary = requests.map { "\($0.method) \($0.target) body=\($0.body.count)" }
        return "requests=\(summary) error=\(String(describing: error)) leftover=\(leftover.count)"
    }
}

/// Feeds `chunks` the way a server does: the caller keeps unconsumed bytes and passes them again with new ones.
func feed(_ chunks: [[UInt8]], limits: HTTPLimits = HTTPLimits()) -> ParseOutcome {
    var parser = HTTPRequestParser(limits: limits)
    var pending: [UInt8] = []
    var outcome = ParseOutcome()
    for chunk in chunks {
        pending += chunk
        var parsing = true
        while parsing {
            let (result, consumed) = pending.withUnsafeBytes { parser.parse($0) }
            precondition(consumed >= 0 && consumed <= pending.count, "consumed out of range")
            pending.removeFirst(consumed)
            switch result {
            case .request(let request):
                outcome.requests.append(request)
                parsing = !pending.isEmpty
            case .needMoreInput:
                precondition(pending.isEmpty, "needMoreInput must consume everything")
                parsing = false
            case .failed(let error):
                outcome.error = error
                return outcome
            }
        }
    }
    outcome.leftover = pending
    return outcome
}

/// Parses `text` in one piece.
func feed(_ text: String, limits: HTTPLimits = HTTPLimits()) -> ParseOutcome {
    feed([Array(text.utf8)], limits: limits)
}

/// The single request parsed from `text`, or nil.
func request(_ text: String, limits: HTTPLimits = HTTPLimits()) -> HTTPRequest? {
    let outcome = feed(text, limits: limits)
    return outcome.requests.count == 1 && outcome.error == nil ? outcome.requests[0] : nil
}

/// The error parsing `text` ends with, or nil.
func failure(_ text: String, limits: HTTPLimits = HTTPLimits()) -> HTTPParseError? {
    feed(text, limits: limits).error
}
