/// A typed request parse failure. Each case maps to the status the server answers with before it closes the
/// connection; after a failure the byte stream cannot be resynchronised, so the connection must not be reused.
public enum HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The request line is not `method SP target SP version`, the method is not a token, or too many empty
    /// lines precede it (400).
    case malformedRequestLine
    /// The request target is empty, contains bytes outside visible ASCII, or has a form this server does not
    /// accept: origin-form, absolute-form `http(s)://...`, and `*` for OPTIONS only (400).
    case invalidTarget
    /// The version is well-formed but neither HTTP/1.0 nor HTTP/1.1 (505).
    case unsupportedVersion
    /// The request line grew past ``HTTPLimits/maxRequestLineLength`` (414).
    case requestLineTooLong
    /// A header line has no colon, an empty or non-token name, or whitespace before the colon (400).
    case malformedHeader
    /// A header line starts with a space or tab: obsolete line folding (400).
    case obsoleteLineFolding
    /// A NUL, a bare CR or another control character where the grammar does not allow one (400).
    case invalidCharacter
    /// More header fields than ``HTTPLimits/maxHeaderCount`` (431).
    case tooManyHeaders
    /// Header lines together larger than ``HTTPLimits/maxHeaderBytes`` (431).
    case headersTooLarge
    /// An HTTP/1.1 request without a `Host` header field (400).
    case missingHost
    /// More than one `Host` header field (400).
    case duplicateHost
    /// A `Content-Length` value that is not a run of decimal digits (400).
    case invalidContentLength
    /// Several `Content-Length` values that disagree (400).
    case conflictingContentLength
    /// Both `Transfer-Encoding` and `Content-Length`, a request-smuggling vector (400).
    case contentLengthWithTransferEncoding
    /// A `Transfer-Encoding` that is empty or applies chunked more than once (400).
    case invalidTransferEncoding
    /// A transfer coding other than chunked (501).
    case unsupportedTransferEncoding
    /// A malformed chunk-size line, an over-long one, or chunk data not followed by a line ending (400).
    case invalidChunk
    /// The body is larger than ``HTTPLimits/maxBodyBytes`` (413).
    case bodyTooLarge

    /// The status the server answers with for this failure.
    public var status: HTTPStatus {
        switch self {
        case .malformedRequestLine, .invalidTarget, .malformedHeader, .obsoleteLineFolding, .invalidCharacter,
            .missingHost, .duplicateHost, .invalidContentLength, .conflictingContentLength,
            .contentLengthWithTransferEncoding, .invalidTransferEncoding, .invalidChunk:
            .badRequest
        case .unsupportedVersion: .httpVersionNotSupported
        case .requestLineTooLong: .uriTooLong
        case .tooManyHeaders, .headersTooLarge: .requestHeaderFieldsTooLarge
        case .unsupportedTransferEncoding: .notImplemented
        case .bodyTooLarge: .payloadTooLarge
        }
    }

    /// A short human-readable explanation, suitable for logs and plain-text error bodies.
    public var description: String {
        switch self {
        case .malformedRequestLine: "malformed request line"
        case .invalidTarget: "invalid request target"
        case .unsupportedVersion: "unsupported HTTP version"
        case .requestLineTooLong: "request line too long"
        case .malformedHeader: "malformed header field"
        case .obsoleteLineFolding: "obsolete header line folding"
        case .invalidCharacter: "invalid character in request head"
        case .tooManyHeaders: "too many header fields"
        case .headersTooLarge: "header fields too large"
        case .missingHost: "missing Host header"
        case .duplicateHost: "more than one Host header"
        case .invalidContentLength: "invalid Content-Length"
        case .conflictingContentLength: "conflicting Content-Length values"
        case .contentLengthWithTransferEncoding: "both Transfer-Encoding and Content-Length"
        case .invalidTransferEncoding: "invalid Transfer-Encoding"
        case .unsupportedTransferEncoding: "unsupported transfer coding"
        case .invalidChunk: "malformed chunked body"
        case .bodyTooLarge: "body too large"
        }
    }
}
