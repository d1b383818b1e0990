import Glibc

/// A minimal joinable POSIX thread for tests (a loop to run, the receiving side of a large stream).
public final class TestThread: @unchecked Sendable {
    private let body: () -> Void
    private var handle = pthread_t()

    public init(_ body: @escaping () -> Void) { self.body = body }

    public func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                let thread = Unmanaged<TestThread>.fromOpaque(raw).takeRetainedValue()
                thread.body()
                return nil
            }, context)
    }

    public func join() { pthread_join(handle, nil) }
}

/// A blocking TCP client socket connected to `127.0.0.1:port`, or -1 (with errno set) if the connect failed.
public func connectToLoopback(port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        close(fd)
        return -1
    }
    return fd
}
