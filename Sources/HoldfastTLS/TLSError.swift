/// A peer or protocol fault on a TLS connection, typed. Each case maps to the alert we send for it
/// (``alertDescription``), and ``description`` is meant for logs.
public enum TLSError: Error, CustomStringConvertible, Equatable, Sendable {
    /// OpenSSL rejected the handshake; the text is OpenSSL's reason. OpenSSL has already written its alert.
    case handshakeFailed(String)
    /// A record failed authentication (forged, corrupted, or out of sequence).
    case badRecordMAC
    /// A record was longer than the protocol allows.
    case recordOverflow
    /// A record or message arrived that is not allowed at this point (wrong content type, a handshake
    /// message other than KeyUpdate, a change_cipher_spec after the handshake, ...).
    case unexpectedMessage
    /// A message was malformed (wrong length, truncated record, ...).
    case decodeError
    /// A field held a value the protocol forbids (e.g. a KeyUpdate that is neither 0 nor 1).
    case illegalParameter
    /// The peer sent more than the allowed number of KeyUpdates in a row without application data.
    case tooManyKeyUpdates
    /// The peer sent more than the allowed number of empty records or warning alerts without application data.
    case tooManyEmptyRecords
    /// The peer sent a fatal alert (the alert description code); we send nothing back.
    case peerAlert(UInt8)
    /// Imported session state was malformed; nothing is sent, the connection cannot be resumed.
    case invalidState(String)
    /// libcrypto or libssl failed for a reason that is not the peer's fault (allocation, missing algorithm).
    case internalError(String)
    /// The connection already failed or closed; no more records are processed.
    case closed

    /// The TLS alert description we send for this fault, or nil when no alert is due.
    public var alertDescription: UInt8? {
        switch self {
        case .badRecordMAC: 20
        case .recordOverflow: 22
        case .unexpectedMessage, .tooManyKeyUpdates, .tooManyEmptyRecords: 10
        case .decodeError: 50
        case .illegalParameter: 47
        case .internalError: 80
        case .handshakeFailed, .peerAlert, .invalidState, .closed: nil
        }
    }

    /// A short log-friendly explanation.
    public var description: String {
        switch self {
        case .handshakeFailed(let reason): "TLS handshake failed: \(reason)"
        case .badRecordMAC: "TLS record failed authentication (bad_record_mac)"
        case .recordOverflow: "TLS record too long (record_overflow)"
        case .unexpectedMessage: "unexpected TLS message (unexpected_message)"
        case .decodeError: "malformed TLS message (decode_error)"
        case .illegalParameter: "illegal TLS parameter (illegal_parameter)"
        case .tooManyKeyUpdates: "too many consecutive TLS KeyUpdates"
        case .tooManyEmptyRecords: "too many consecutive empty TLS records or warning alerts"
        case .peerAlert(let code): "peer sent TLS alert \(code)"
        case .invalidState(let reason): "invalid TLS session state: \(reason)"
        case .internalError(let reason): "TLS internal error: \(reason)"
        case .closed: "TLS connection already closed"
        }
    }
}

/// TLS record content types (RFC 8446 section 5.1).
enum ContentType {
    static let changeCipherSpec: UInt8 = 20
    static let alert: UInt8 = 21
    static let handshake: UInt8 = 22
    static let applicationData: UInt8 = 23
}

/// The alert descriptions we handle by name.
enum AlertCode {
    static let closeNotify: UInt8 = 0
    static let userCanceled: UInt8 = 90
    static let noRenegotiation: UInt8 = 100
}
