/// Why a socket connect was refused (sent in the 403 body and logged).
public struct AuthenticationFailure: Error, CustomStringConvertible {
    /// The reason, as the client reads it.
    public let reason: String
    public var description: String { reason }

    /// A refusal for `reason`.
    public init(reason: String) { self.reason = reason }
}
