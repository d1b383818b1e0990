import CHoldfast
import Glibc

/// A datagram socket standing in for systemd's notification socket: bound to a path in a fresh temporary
/// directory, or to an abstract name, it receives what a ``SystemdNotifier`` sends.
final class NotifySocketReceiver {
    /// The value to put in `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket).
    let notifySocket: String
    private let fd: Int32
    private let directory: String?

    /// Binds a socket at `<temporary directory>/notify`, or at a unique abstract name when `abstract`.
    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ReceiverError.call("socket") }
        // Tests never hang on a datagram that does not come.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var name: [UInt8]
        if abstract {
            directory = nil
            notifySocket = "@holdfast-notify-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            name = Array(notifySocket.utf8)
            name[0] = 0
        } else {
            var template = Array("/tmp/holdfast-notify-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw ReceiverError.call("mkdtemp") }
            directory = String(cString: made)
            notifySocket = directory! + "/notify"
            name = Array(notifySocket.utf8) + [0]
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw ReceiverError.call("bind") }
    }

    deinit {
        close(fd)
        if let directory {
            unlink(notifySocket)
            rmdir(directory)
        }
    }

    /// The next datagram as text, or nil when none arrives within two seconds.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count >= 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }

    /// The next datagram if one is already waiting, without blocking.
    func receiveNow() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return count >= 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }

    /// The next datagram with the fds attached to it, or nil when none arrives within two seconds.
    func receiveWithFds() -> (text: String, fds: [Int32])? {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 2000) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var fds = [Int32](repeating: -1, count: 4)
        var count: Int32 = 0
        var flags: Int32 = 0
        let received = buffer.withUnsafeMutableBytes {
            holdfast_recv_fds(fd, $0.baseAddress, $0.count, &fds, Int32(fds.count), &count, &flags)
        }
        guard received >= 0 else { return nil }
        return (String(decoding: buffer[0..<received], as: UTF8.self), Array(fds[0..<Int(count)]))
    }

    enum ReceiverError: Error {
        case call(String)
    }
}
