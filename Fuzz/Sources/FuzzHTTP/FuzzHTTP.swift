import FuzzSupport
import HoldfastHTTP

/// Every request the parser finds in `input` fed as `chunks`, plus the final failure or pending state.
private func parseAll(_ input: UnsafeRawBufferPointer, limits: HTTPLimits, chunk: Int) -> [String] {
    var parser = HTTPRequestParser(limits: limits)
    var results: [String] = []
    var pending: [UInt8] = []
    var index = 0
    while index < input.count {
        let end = min(index + chunk, input.count)
        pending += input[index..<end]
        index = end
        // Parse until the parser wants more: a request may be followed by the next one in the same bytes.
        while true {
            let (result, consumed) = pending.withUnsafeBytes { parser.parse($0) }
            require(consumed <= pending.count, "consumed \(consumed) of \(pending.count) bytes")
            switch result {
            case .needMoreInput:
                require(consumed == pending.count, "needMoreInput left \(pending.count - consumed) bytes")
                pending.removeAll()
            case .request(let request):
                checkKnownFields(request)
                results.append("\(request)")
                pending.removeFirst(consumed)
                if !pending.isEmpty { continue }
            case .failed(let error):
                results.append("failed \(error)")
                return results
            }
            break
        }
    }
    if parser.hasPartialRequest { results.append("partial") }
    return results
}

/// The parser's index of known fields must answer as a comparison of every field name does, and the path
/// comparison as the path string does.
private func checkKnownFields(_ request: HTTPRequest) {
    for field in HTTPKnownField.allCases {
        require(request.header(field) == request.header(field.name), "header \(field)")
        require(request.headerValues(field) == request.headerValues(field.name), "headerValues \(field)")
        require(
            request.headerContainsToken(field, "upgrade") == request.headerContainsToken(field.name, "upgrade"),
            "headerContainsToken \(field)")
    }
    require(request.hasPath("/ws/echo") == (request.path == "/ws/echo"), "hasPath /ws/echo")
    require(request.hasPath("/") == (request.path == "/"), "hasPath /")
    // A view of the request answers as the request does.
    request.withHeadView { head in
        for field in HTTPKnownField.allCases {
            require(head.header(field) == request.header(field), "view header \(field)")
            require(head.headerValues(field) == request.headerValues(field), "view headerValues \(field)")
            require(head.headerContainsToken(field, "upgrade") == request.headerContainsToken(field, "upgrade"),
                "view headerContainsToken \(field)")
        }
        require(head.method == request.method && head.target == request.target, "view request line")
        require(head.path == request.path && head.query == request.query, "view path and query")
        require(head.hasPath("/ws/echo") == request.hasPath("/ws/echo") && head.hasMethod("GET") == request.hasMethod("GET"),
            "view hasPath, hasMethod")
    }
}

/// Everything a head view answers, as one string, to compare two views.
private func render(_ head: HTTPHeadView) -> String {
    var parts = ["\(head.method) \(head.target) 1.\(head.minorVersion) \(head.path) \(head.query)"]
    parts += head.headers.map { "\($0.name): \($0.value)" }
    for field in HTTPKnownField.allCases {
        parts.append("\(field) \(head.header(field) ?? "-") \(head.headerValues(field)) \(head.headerContainsToken(field, "upgrade"))")
    }
    return parts.joined(separator: "|")
}

/// Whatever the in-place head parse accepts, the request parser must accept as the same request (no body),
/// consuming the same bytes; whatever it declines the parser answers, so no other check is needed for those.
private func checkInPlace(_ input: UnsafeRawBufferPointer, limits: HTTPLimits) {
    var inPlace = ""
    guard let consumed = HTTPHeadView.parse(input, limits: limits, { head in
        inPlace = render(head)
        return true
    }) else { return }
    var parser = HTTPRequestParser(limits: limits)
    let (result, parsed) = parser.parse(input)
    guard case .request(let request) = result else { return require(false, "in place accepted, parser: \(result)") }
    require(parsed == consumed, "in place consumed \(consumed), parser \(parsed)")
    require(request.body.isEmpty, "in place accepted a request with a body")
    require(request.withHeadView(render) == inPlace, "in place \(inPlace) != parser \(request)")
}

@main
enum FuzzHTTP {
    static func main() {
        FuzzDriver.run { input in
            let small = HTTPLimits(
                maxRequestLineLength: 64, maxHeaderCount: 4, maxHeaderBytes: 128, maxBodyBytes: 64,
                maxChunkLineLength: 16)
            for limits in [HTTPLimits(), small] {
                checkInPlace(input, limits: limits)
                let whole = parseAll(input, limits: limits, chunk: max(input.count, 1))
                // The same bytes one at a time and in odd chunks must give the same requests and the same error.
                for chunk in [1, 7] {
                    let split = parseAll(input, limits: limits, chunk: chunk)
                    require(split == whole, "chunks of \(chunk): \(split) != \(whole)")
                }
            }
        }
    }
}
