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
}

@main
enum FuzzHTTP {
    static func main() {
        FuzzDriver.run { input in
            let small = HTTPLimits(
                maxRequestLineLength: 64, maxHeaderCount: 4, maxHeaderBytes: 128, maxBodyBytes: 64,
                maxChunkLineLength: 16)
            for limits in [HTTPLimits(), small] {
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
