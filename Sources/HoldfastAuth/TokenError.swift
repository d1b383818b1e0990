/// Why a connect token was refused; the server answers the WebSocket upgrade with 403 for every case.
///
/// The description is for the server log and the `holdfast` command line, never sent to the client.
public enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not two base64url parts joined by a dot, or a payload with the wrong shape or a bad user id.
    case malformed
    /// The signature does not match: tampered, or signed with another secret.
    case badSignature
    /// Correctly signed but past its expiry time.
    case expired
    /// Correctly signed by a Holdfast that uses a token version this build does not know.
    case unsupportedVersion

    /// What went wrong and what the client or operator should do.
    public var description: String {
        switch self {
        case .malformed:
            "the connect token is malformed; pass the exact output of `holdfast token --user ID` as `token`"
        case .badSignature:
            "the connect token's signature does not match; it was altered or signed with another "
                + "HOLDFAST_SECRET_KEY — issue a new one with `holdfast token`"
        case .expired:
            "the connect token has expired; issue a new one with `holdfast token --user ID --ttl SECONDS`"
        case .unsupportedVersion:
            "the connect token uses an unknown format version; issue it with the same Holdfast version as the server"
        }
    }
}
