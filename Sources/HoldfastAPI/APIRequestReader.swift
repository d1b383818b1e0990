public import HoldfastHTTP

/// Reads a server API connection's requests one at a time, in order, and answers none out of turn.
///
/// The next request is parsed only once the previous one is answered: requests a client pipelines wait, as
/// bytes, behind the one being served, and are served in the order sent. The bytes of a request stay with the
/// caller (its unconsumed input) until the request is complete, so a request that is partly received, or
/// received but not yet served, is only bytes: a binary upgrade carries them with the connection, and the new
/// process parses them again from the start with a fresh parser (``init(awaitingAnswer:)``).
///
/// Contract: the caller passes its whole unconsumed input each time (the bytes after the last request returned);
/// `consumed` says how many leading bytes it may drop. The parser is the caller's (it lives with the connection),
/// passed in so that only this small state is added to it.
public struct APIRequestReader: Sendable {
    /// What the caller does next.
    public enum Step: Sendable {
        /// Serve this request, then call ``answered()``.
        case request(HTTPRequest)
        /// The input is malformed or over a limit: answer the error and close.
        case failed(HTTPParseError)
        /// Nothing to serve now: the request so far is incomplete, or the previous one awaits its answer.
        case wait
    }

    /// How many leading bytes of the caller's unconsumed input the parser has read already.
    private var seen = 0
    /// A request was handed out and its answer is not written yet.
    public private(set) var awaitingAnswer: Bool

    /// A reader at a request boundary; `awaitingAnswer` when the connection was handed over with a request still
    /// to be answered (its bytes are gone; what follows it is the caller's input).
    public init(awaitingAnswer: Bool = false) { self.awaitingAnswer = awaitingAnswer }

    /// The next step for `input`, the caller's whole unconsumed input, and how many leading bytes of it are
    /// consumed (the request's, when it completes one).
    public mutating func next(
        _ input: UnsafeRawBufferPointer, parser: inout HTTPRequestParser
    ) -> (step: Step, consumed: Int) {
        guard !awaitingAnswer, seen < input.count else { return (.wait, 0) }
        let (result, used) = parser.parse(UnsafeRawBufferPointer(rebasing: input[seen...]))
        switch result {
        case .needMoreInput:
            seen = input.count
            return (.wait, 0)
        case .request(let request):
            defer { seen = 0 }
            awaitingAnswer = true
            return (.request(request), seen + used)
        case .failed(let error):
            seen = 0
            return (.failed(error), input.count)
        }
    }

    /// The request handed out is answered: the next one may be parsed.
    public mutating func answered() { awaitingAnswer = false }

    /// Whether the caller should stop reading the socket: a request awaits its answer and more bytes than one
    /// whole request (within `limits`) wait behind it. The rest stays in the kernel's buffer, which also moves
    /// with the socket in a binary upgrade.
    public func isFull(buffered: Int, limits: HTTPLimits) -> Bool {
        awaitingAnswer && buffered > limits.maxRequestLineLength + limits.maxHeaderBytes + limits.maxBodyBytes
    }
}
