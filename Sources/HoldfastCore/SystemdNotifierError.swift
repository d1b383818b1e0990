/// Why a notification to the service manager could not be sent.
public enum SystemdNotifierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A key that is empty or holds `=` or a newline, or a value that holds a newline: either would change
    /// the meaning of the datagram, so nothing was sent.
    case invalidAssignment(key: String, value: String)
    /// `NOTIFY_SOCKET` names a path longer than a Unix socket address can hold.
    case socketPathTooLong(String)
    /// systemd did not confirm a ``SystemdNotifier/barrier(timeoutMilliseconds:)`` in time.
    case barrierTimeout
    /// Creating the socket or sending the datagram failed, e.g. nothing listens on `NOTIFY_SOCKET` any more.
    case system(SystemError)

    public var description: String {
        switch self {
        case .invalidAssignment(let key, let value):
            "cannot notify systemd of \(key)=\(value): keys must be non-empty without '=' or newlines, "
                + "values without newlines"
        case .socketPathTooLong(let path):
            "NOTIFY_SOCKET path is too long for a Unix socket address: \(path)"
        case .barrierTimeout:
            "systemd did not confirm the notification barrier in time"
        case .system(let error):
            "cannot notify systemd: \(error)"
        }
    }
}
