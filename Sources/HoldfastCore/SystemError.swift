import Glibc

/// A failed system call: which call, and the `errno` it left.
///
/// Expected outcomes (`EAGAIN`, `EINTR`) never become a `SystemError`; see ``retryingInterrupts(_:_:)``.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name of the call that failed, e.g. `"bind"`.
    public var call: String
    /// The `errno` value.
    public var code: Int32

    /// Creates an error for `call` with an explicit `errno` value.
    public init(_ call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    /// Creates an error for `call` from the current `errno`.
    public init(_ call: String) {
        self.init(call, code: errno)
    }

    /// The system's text for the error (`strerror`), e.g. "Connection refused".
    public var reason: String { String(cString: strerror(code)) }

    public var description: String {
        "\(call) failed: \(reason) (errno \(code))"
    }
}

/// The outcome of a non-blocking system call.
public enum IOResult<Value> {
    /// The call completed with this value.
    case done(Value)
    /// The call would block (`EAGAIN`/`EWOULDBLOCK`): wait for readiness and try again.
    case wouldBlock
    /// The call failed with this error.
    case failed(SystemError)
}

/// Runs a system call that returns -1 and sets `errno` on failure, retrying it on `EINTR` and turning `EAGAIN`
/// into ``IOResult/wouldBlock``, so the errno policy lives in one place.
@inline(__always)
public func retryingInterrupts<T: FixedWidthInteger>(_ call: StaticString, _ body: () -> T) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        default: return .failed(SystemError("\(call)", code: code))
        }
    }
}
