import Glibc

/// Tells the service manager about the server's state: the `sd_notify` protocol, without linking libsystemd.
///
/// systemd (with `Type=notify`) passes the path of a datagram socket in `NOTIFY_SOCKET`: a file system path, or
/// an abstract socket when it starts with `@`. Each notification is one datagram of newline-separated
/// `KEY=VALUE` assignments, e.g. `READY=1`, `MAINPID=1234`, `STATUS=…`, `RELOADING=1`, `STOPPING=1`.
/// Without `NOTIFY_SOCKET` (not started by systemd, or a unit of another type) every call does nothing.
///
/// The variable is deliberately left in the environment (unlike `sd_notify(1, …)`): the process that a binary
/// upgrade starts inherits it and announces itself with `MAINPID=` and `READY=1`. The unit needs
/// `NotifyAccess=all` for systemd to accept that message from a process that is not (yet) the main one.
///
/// systemd identifies the sender of a datagram by its PID, so a process should still be running when the
/// message is read; a `STOPPING=1` sent right before a prompt exit is still fine in practice.
public struct SystemdNotifier: Sendable {
    /// Where notifications go, or nil when they are disabled.
    public let socketPath: String?

    /// Reads `NOTIFY_SOCKET` from `environment`. Values that are neither an absolute path nor an abstract
    /// socket (`@name`) disable notifications, like libsystemd does for kinds it cannot reach.
    public init(environment: [String: String]) {
        socketPath = Self.usablePath(environment["NOTIFY_SOCKET"])
    }

    /// Reads `NOTIFY_SOCKET` from the process environment.
    public init() {
        socketPath = Self.usablePath(getenv("NOTIFY_SOCKET").map { String(cString: $0) })
    }

    /// Whether a notification socket was given, i.e. whether `notify(_:)` sends anything.
    public var isEnabled: Bool { socketPath != nil }

    /// Sends `assignments` as one datagram, in the order given.
    ///
    /// A `RELOADING=1` without `MONOTONIC_USEC` gets one added: systemd 253 and later want the time the reload
    /// started, to tell the reload's `READY=1` apart from an earlier one.
    /// - Returns: false when notifications are disabled (nothing was sent), true when the datagram was sent.
    /// - Throws: ``SystemdNotifierError`` for a key or value that cannot be sent, or a failed socket call.
    @discardableResult
    public func notify(_ assignments: KeyValuePairs<String, String>) throws(SystemdNotifierError) -> Bool {
        var lines: [String] = []
        for (key, value) in assignments {
            guard !key.isEmpty, !key.contains("="), !key.contains("\n"), !value.contains("\n") else {
                throw .invalidAssignment(key: key, value: value)
            }
            lines.append("\(key)=\(value)")
        }
        return try notify(lines.joined(separator: "\n"))
    }

    /// Sends `text` (newline-separated `KEY=VALUE` lines, e.g. `"READY=1\nMAINPID=42"`) as one datagram.
    ///
    /// A `RELOADING=1` line without a `MONOTONIC_USEC=` line gets one added (see the assignments variant).
    /// - Returns: false when notifications are disabled (nothing was sent), true when the datagram was sent.
    @discardableResult
    public func notify(_ text: String) throws(SystemdNotifierError) -> Bool {
        guard let socketPath else { return false }
        var message = text
        let lines = text.split(separator: "\n")
        if lines.contains("RELOADING=1") && !lines.contains(where: { $0.hasPrefix("MONOTONIC_USEC=") }) {
            message += "\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())"
        }
        try Self.send(Array(message.utf8), to: socketPath)
        return true
    }

    /// `CLOCK_MONOTONIC` in microseconds, the clock systemd compares `MONOTONIC_USEC` against.
    static func monotonicMicroseconds() -> UInt64 {
        MonotonicClock.nowNanoseconds() / 1000
    }

    private static func usablePath(_ value: String?) -> String? {
        guard let value, value.hasPrefix("/") || (value.hasPrefix("@") && value.utf8.count > 1) else { return nil }
        return value
    }

    /// One datagram on a fresh socket: notifications are rare, so keeping a socket open would buy nothing and
    /// would be one more fd for a binary upgrade to think about.
    private static func send(_ bytes: [UInt8], to path: String) throws(SystemdNotifierError) {
        let fd = try connectedSocket(to: path)
        defer { Socket.close(fd) }
        while true {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent >= 0 { return }
            if errno != EINTR { throw .system(SystemError("send")) }
        }
    }

    /// A blocking `AF_UNIX` datagram socket (close-on-exec, so no upgrade inherits it) connected to `path`.
    static func connectedSocket(to path: String) throws(SystemdNotifierError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        let abstract = pathBytes.first == UInt8(ascii: "@")
        if abstract { pathBytes[0] = 0 }  // Linux abstract namespace: a leading NUL, no terminator
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity || (abstract && pathBytes.count == capacity) else {
            throw .socketPathTooLong(path)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        // An abstract name is exactly its bytes; a path also counts its terminating NUL.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (abstract ? 0 : 1))

        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(SystemError("socket")) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        guard connected == 0 else {
            let error = SystemError("connect")
            Socket.close(fd)
            throw .system(error)
        }
        return fd
    }
}
