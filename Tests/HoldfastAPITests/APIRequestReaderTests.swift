import HoldfastAPI
import HoldfastHTTP
import Testing

/// The reader serves requests one at a time, in order, and leaves every byte of an unserved request with the
/// caller, so that a fresh reader (a new process after a binary upgrade) reads the same requests from them.
struct APIRequestReaderTests {
    static let first = Array("POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst".utf8)
    static let second = Array("GET /api/rooms HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

    /// Feeds `wire` in pieces of `size` bytes as a connection does (keeping the unconsumed input), answering each
    /// request at once; returns the requests in the order served.
    func serve(_ wire: [UInt8], in size: Int) -> [HTTPRequest] {
        var (reader, parser, input, served) = (APIRequestReader(), HTTPRequestParser(), [UInt8](), [HTTPRequest]())
        var offset = 0
        while offset < wire.count {
            input += wire[offset..<min(offset + size, wire.count)]
            offset += size
            while true {
                let (step, consumed) = input.withUnsafeBytes { reader.next($0, parser: &parser) }
                input.removeFirst(consumed)
                guard case .request(let request) = step else { break }
                served.append(request)
                reader.answered()
            }
        }
        #expect(input.isEmpty)
        return served
    }

    @Test func servesRequestsSplitAtEveryOffsetInOrder() {
        for size in 1...(Self.first.count + Self.second.count) {
            let served = serve(Self.first + Self.second, in: size)
            #expect(served.map(\.method) == ["POST", "GET"], "pieces of \(size)")
            #expect(served.first?.body == Array("first".utf8))
        }
    }

    @Test func aPipelinedRequestWaitsUntilThePreviousOneIsAnswered() {
        var (reader, parser) = (APIRequestReader(), HTTPRequestParser())
        var input = Self.first + Self.second
        let (step, consumed) = input.withUnsafeBytes { reader.next($0, parser: &parser) }
        guard case .request(let request) = step else { Issue.record("no request"); return }
        #expect(request.method == "POST" && consumed == Self.first.count && reader.awaitingAnswer)
        input.removeFirst(consumed)
        let (waiting, none) = input.withUnsafeBytes { reader.next($0, parser: &parser) }
        #expect(none == 0)
        guard case .wait = waiting else { Issue.record("served out of turn"); return }
        reader.answered()
        let (next, rest) = input.withUnsafeBytes { reader.next($0, parser: &parser) }
        guard case .request(let later) = next else { Issue.record("the next request was not served"); return }
        #expect(later.method == "GET" && rest == Self.second.count)
    }

    @Test func aPartlyReceivedRequestIsReadAgainFromItsBytesByAFreshReader() {
        for cut in 1..<Self.first.count {
            var (reader, parser) = (APIRequestReader(), HTTPRequestParser())
            let head = Array(Self.first[..<cut])
            let (step, consumed) = head.withUnsafeBytes { reader.next($0, parser: &parser) }
            guard case .wait = step, consumed == 0 else { Issue.record("cut \(cut) consumed"); continue }
            // The bytes moved to a new process with the rest still in the kernel's buffer.
            var (fresh, freshParser) = (APIRequestReader(), HTTPRequestParser())
            let all = Self.first
            let (again, used) = all.withUnsafeBytes { fresh.next($0, parser: &freshParser) }
            guard case .request(let request) = again else { Issue.record("cut \(cut): no request"); continue }
            #expect(request.body == Array("first".utf8) && used == Self.first.count)
        }
    }

    @Test func aHandedOverWaitReadsNothingUntilAnswered() {
        var (reader, parser) = (APIRequestReader(awaitingAnswer: true), HTTPRequestParser())
        let (step, consumed) = Self.second.withUnsafeBytes { reader.next($0, parser: &parser) }
        guard case .wait = step, consumed == 0 else { Issue.record("read before the answer"); return }
        reader.answered()
        let (next, _) = Self.second.withUnsafeBytes { reader.next($0, parser: &parser) }
        guard case .request = next else { Issue.record("no request after the answer"); return }
    }

    @Test func malformedInputFailsAndIsConsumed() {
        var (reader, parser) = (APIRequestReader(), HTTPRequestParser())
        let junk = Array("NOT HTTP\0\r\n\r\n".utf8)
        let (step, consumed) = junk.withUnsafeBytes { reader.next($0, parser: &parser) }
        guard case .failed = step else { Issue.record("accepted junk"); return }
        #expect(consumed == junk.count)
    }

    @Test func isFullOnlyWithMoreThanOneRequestWaitingBehindAnUnansweredOne() {
        let limits = HTTPLimits(maxRequestLineLength: 100, maxHeaderBytes: 200, maxBodyBytes: 700)
        var (reader, parser) = (APIRequestReader(), HTTPRequestParser(limits: limits))
        #expect(!reader.isFull(buffered: 5_000, limits: limits))
        _ = Self.first.withUnsafeBytes { reader.next($0, parser: &parser) }
        #expect(!reader.isFull(buffered: 1_000, limits: limits))
        #expect(reader.isFull(buffered: 1_001, limits: limits))
        reader.answered()
        #expect(!reader.isFull(buffered: 1_001, limits: limits))
    }
}
