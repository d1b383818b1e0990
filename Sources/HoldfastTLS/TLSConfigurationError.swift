/// Why a ``TLSServerContext`` could not be built; each case says what to fix. Raised at startup only.
public enum TLSConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Which configured file a problem is about.
    public enum FileRole: String, Sendable {
        /// The PEM certificate chain (leaf first, then intermediates).
        case certificateChain = "certificate chain"
        /// The PEM private key.
        case privateKey = "private key"
    }

    /// The file does not exist.
    case fileNotFound(FileRole, path: String)
    /// The file exists but cannot be opened (permissions, I/O error); `reason` is the system's message.
    case fileUnreadable(FileRole, path: String, reason: String)
    /// The file is not a PEM certificate chain or PEM private key OpenSSL can load; `detail` is OpenSSL's reason.
    case invalidPEM(FileRole, path: String, detail: String)
    /// The private key is valid but belongs to a different certificate.
    case keyDoesNotMatchCertificate(certificatePath: String, keyPath: String)
    /// OpenSSL could not set up the context itself (out of memory, unsupported setting).
    case openSSLFailure(String)

    /// A sentence an operator can act on.
    public var description: String {
        switch self {
        case .fileNotFound(let role, let path):
            "TLS \(role.rawValue) file not found: \(path); check the configured path"
        case .fileUnreadable(let role, let path, let reason):
            "cannot read TLS \(role.rawValue) file \(path): \(reason); check its permissions"
        case .invalidPEM(let role, let path, let detail):
            "TLS \(role.rawValue) file \(path) is not valid PEM (\(detail)); expected "
                + (role == .certificateChain ? "-----BEGIN CERTIFICATE----- blocks" : "an unencrypted PEM private key")
        case .keyDoesNotMatchCertificate(let certificatePath, let keyPath):
            "TLS private key \(keyPath) does not match the certificate in \(certificatePath)"
        case .openSSLFailure(let detail):
            "OpenSSL could not set up the TLS context: \(detail)"
        }
    }
}
