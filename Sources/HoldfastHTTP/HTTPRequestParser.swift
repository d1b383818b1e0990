/// The outcome of one ``HTTPRequestParser/parse(_:)`` call.
public enum HTTPParseResult: Sendable {
    /// Every byte given was consumed and buffered; call again when more arrive.
    case needMoreInput
    /// A complete request. Bytes after `consumed` belong to the next request, or to the new protocol after an
    /// upgrade.
    case request(HTTPRequest)
    /// The request is malformed or over a limit; answer with ``HTTPParseError/status`` and close.
    case failed(HTTPParseError)
}

/// An incremental HTTP/1.1 request parser (RFC 9112) with limits enforced as bytes arrive.
///
/// **Consumption contract:** the parser consumes and keeps internally every byte of a partial request, so after
/// `.needMoreInput` the caller drops all the bytes it passed and later passes only newly arrived ones. After
/// `.request`, `consumed` is the end of that request; the caller keeps the rest. Each byte is examined once, so
/// byte-at-a-time input costs linear time. After `.request` the parser is ready for the next request on the
/// same connection without a call to ``reset()``. After `.failed` it stays failed (returning the same error and
/// consuming nothing) until ``reset()``.
///
/// Accepted leniencies (RFC 9112 §2.2): bare LF line endings and a few empty lines before the request line.
/// Header values keep obs-text bytes, decoded as UTF-8 with replacement.
///
/// Size: at most 160 bytes inline per connection plus the line buffer and the request being built (checked by a
/// `MemoryLayout` test), since one parser lives in every connection.
public struct HTTPRequestParser: Sendable {
    enum State: Sendable {
        case requestLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPParseError)
    }

    /// What finishing one line leads to.
    enum LineOutcome {
        case proceed
        case complete
        case failed(HTTPParseError)
    }

    /// How much body storage a declared `Content-Length` reserves up front; larger bodies grow as bytes arrive,
    /// so a head alone cannot make the server allocate a full ``HTTPLimits/maxBodyBytes``.
    static let maxBodyReservation = 64 * 1024

    /// How many empty lines may precede a request line (RFC 9112 §2.2 asks to ignore "at least one").
    static let maxLeadingEmptyLines = 8

    /// The most head storage reserved before the bytes arrive; a browser's upgrade request is well under it.
    static let maxHeadReservation = 4096

    /// The limits this parser enforces.
    public let limits: HTTPLimits

    var state: State = .requestLine
    /// The known fields among `fields`, recognised as each line is read (declared here, where it fills the padding
    /// after `state`, so the parser stays within 160 bytes).
    var known = HTTPKnownFieldIndex()
    /// The head so far: the request line and header lines without their line endings, then the line being
    /// assembled from `lineStart` on (possibly ending in a CR whose LF has not arrived yet). Chunk-size and
    /// trailer lines are assembled here too and dropped once read.
    var head: [UInt8] = []
    var lineStart = 0
    var leadingEmptyLines = 0
    var methodRange = 0..<0
    var targetRange = 0..<0
    var minorVersion = 1
    var fields: [HTTPFieldRange] = []
    /// Header (and trailer) line bytes so far, line endings excluded, against `maxHeaderBytes`.
    var headerBytes = 0
    var trailerCount = 0
    var body: [UInt8] = []

    /// Creates a parser waiting for the first request line.
    ///
    /// - Parameter limits: The limits to enforce; the defaults suit a chat and presence server.
    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Whether the parser holds bytes of a request that has not completed yet.
    public var hasPartialRequest: Bool {
        switch state {
        case .requestLine: !head.isEmpty || leadingEmptyLines > 0
        case .headers, .body, .chunkSize, .chunkData, .chunkDataEnd, .trailers: true
        case .failed: false
        }
    }

    /// Parses from `input`, the bytes the caller has not yet seen consumed.
    ///
    /// - Parameter input: Newly arrived bytes plus any left over after a previous `.request`.
    /// - Returns: The result and how many bytes of `input` were consumed. With `.needMoreInput` that is all of
    ///   them (kept inside the parser); with `.request` it is the end of the request; with `.failed` it is where
    ///   parsing stopped.
    public mutating func parse(_ input: UnsafeRawBufferPointer) -> (result: HTTPParseResult, consumed: Int) {
        var index = 0
        while index < input.count {
            switch state {
            case .requestLine, .headers, .chunkSize, .chunkDataEnd, .trailers:
                let scan = scanLine(input, from: index)
                index = scan.next
                if let error = scan.error { return fail(error, consumed: index) }
                guard scan.complete else { continue }
                switch finishLine() {
                case .proceed: continue
                case .complete: return (.request(takeRequest()), index)
                case .failed(let error): return fail(error, consumed: index)
                }
            case .body(let remaining):
                let count = min(remaining, input.count - index)
                body.append(contentsOf: input[index..<index + count])
                index += count
                if count == remaining { return (.request(takeRequest()), index) }
                state = .body(remaining: remaining - count)
            case .chunkData(let remaining):
                let count = min(remaining, input.count - index)
                body.append(contentsOf: input[index..<index + count])
                index += count
                state = count == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - count)
            case .failed(let error):
                return (.failed(error), 0)
            }
        }
        if case .failed(let error) = state { return (.failed(error), 0) }
        return (.needMoreInput, index)
    }

    /// Resets for the next request on a keep-alive connection, also clearing a failure.
    public mutating func reset() {
        state = .requestLine
        head = []
        lineStart = 0
        leadingEmptyLines = 0
        methodRange = 0..<0
        targetRange = 0..<0
        minorVersion = 1
        fields = []
        known = HTTPKnownFieldIndex()
        headerBytes = 0
        trailerCount = 0
        body = []
    }

    private mutating func fail(
        _ error: HTTPParseError, consumed: Int
    ) -> (result: HTTPParseResult, consumed: Int) {
        state = .failed(error)
        head = []
        lineStart = 0
        return (.failed(error), consumed)
    }

    /// Hands out the finished request and gets ready for the next one.
    private mutating func takeRequest() -> HTTPRequest {
        // The head's storage moves to the request; the next request starts a buffer of its own.
        let request = HTTPRequest(
            head: head, method: methodRange, target: targetRange, minorVersion: minorVersion, fields: fields,
            known: known, body: body)
        reset()
        return request
    }

    /// Appends bytes up to the next LF to `line`, checking the current line limit before copying so an endless
    /// line never grows the buffer past its limit.
    private mutating func scanLine(
        _ input: UnsafeRawBufferPointer, from start: Int
    ) -> (complete: Bool, next: Int, error: HTTPParseError?) {
        let end = HTTPByteScan.firstIndex(of: .lf, in: input, from: start)
        let complete = end < input.count
        // A trailing CR may still be the first half of a CRLF, so it does not count against the limit.
        var contentLength = head.count - lineStart + (end - start)
        let lastByte = end > start ? input[end - 1] : (head.count > lineStart ? head.last : nil)
        if lastByte == .cr { contentLength -= 1 }
        if let error = lineLimitError(contentLength) { return (complete, complete ? end + 1 : end, error) }
        // Room for the whole head at once when it arrived in one piece (the usual case), up to a bound.
        if head.capacity == 0 { head.reserveCapacity(min(max(input.count - start, 256), Self.maxHeadReservation)) }
        // A rebased buffer copies in one go; a slice of the raw buffer would be copied byte by byte.
        head.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<end]))
        return (complete, complete ? end + 1 : end, nil)
    }

    /// The error for a line of `contentLength` bytes in the current state, if it is over the limit.
    private func lineLimitError(_ contentLength: Int) -> HTTPParseError? {
        switch state {
        case .requestLine:
            contentLength > limits.maxRequestLineLength ? .requestLineTooLong : nil
        case .headers, .trailers:
            headerBytes + contentLength > limits.maxHeaderBytes ? .headersTooLarge : nil
        case .chunkSize:
            contentLength > limits.maxChunkLineLength ? .invalidChunk : nil
        case .chunkDataEnd:
            contentLength > 0 ? .invalidChunk : nil
        case .body, .chunkData, .failed:
            nil
        }
    }

    /// Dispatches a complete line (without its line ending) to the handler of the current state.
    private mutating func finishLine() -> LineOutcome {
        if head.count > lineStart && head.last == .cr { head.removeLast() }
        // A CR inside the line is a bare CR (RFC 9112 §2.2), and NUL is never allowed in a head.
        let start = lineStart
        if head.withUnsafeBytes({ HTTPByteScan.containsCROrNUL(UnsafeRawBufferPointer(rebasing: $0[start...])) }) {
            return .failed(.invalidCharacter)
        }
        let line = lineStart..<head.count
        let outcome: LineOutcome
        let keep: Bool
        switch state {
        case .requestLine:
            keep = !line.isEmpty
            outcome = requestLine(line)
        case .headers:
            keep = !line.isEmpty
            outcome = headerLine(line)
        case .chunkSize:
            keep = false
            outcome = chunkSizeLine(head[line])
        case .chunkDataEnd:
            keep = false
            state = .chunkSize
            outcome = .proceed
        case .trailers:
            keep = false
            outcome = trailerLine(head[line])
        case .body, .chunkData, .failed:
            keep = false
            outcome = .proceed  // Unreachable: lines are only assembled in line states.
        }
        // The request line and fields stay in the head, their ranges pointing at them; other lines are dropped,
        // their storage reused.
        if keep { lineStart = head.count } else { head.removeSubrange(lineStart...) }
        return outcome
    }
}
