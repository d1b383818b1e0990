import Glibc
public import HoldfastCore
import Synchronization

/// A real `redis-server` (Debian `redis-server`, installed by scripts/setup.sh) on a free loopback port, with no
/// persistence, for the live tests. ``restart()`` brings it back on the same port.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: UInt16
    private let password: String?
    private let directory: String
    private var process: ChildProcess?

    public init(password: String? = nil) throws {
        self.password = password
        port = try freeLoopbackPort()
        var template = Array("/tmp/holdfast-redis-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError("mkdtemp") }
        directory = String(cString: made)
        try start()
    }

    deinit { stop() }

    public func start() throws {
        var arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--dir", directory, "--logfile", directory + "/redis.log",
        ]
        if let password { arguments += ["--requirepass", password] }
        let devNull = open("/dev/null", O_RDONLY)
        defer { close(devNull) }
        process = try ChildProcess.spawn(
            path: "/usr/bin/redis-server", arguments: arguments, environment: [], inherit: devNull)
        let deadline = MonotonicClock.nowMilliseconds() + 5_000
        while MonotonicClock.nowMilliseconds() < deadline {
            let fd = connectToLoopback(port: port)
            if fd >= 0 {
                close(fd)
                return
            }
            usleep(10_000)
        }
        throw SystemError("redis-server did not listen on \(port)", code: ETIMEDOUT)
    }

    /// Kills the server (SIGKILL: what a crash or an OOM kill does) and waits until it is gone.
    public func stop() {
        process?.killAndReap()
        process = nil
    }

    public func restart() throws {
        stop()
        try start()
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: a Redis that stops answering without closing anything.
    public func freeze(_ frozen: Bool) {
        if let pid = process?.pid { kill(pid, frozen ? SIGSTOP : SIGCONT) }
    }
}

/// A TCP port on 127.0.0.1 that the kernel just handed out and nothing listens on.
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw SystemError("bind") }
    return UInt16(bigEndian: address.sin_port)
}

/// An event loop running on its own thread for the length of a test.
public final class LoopThread: @unchecked Sendable {
    public let loop: EventLoop
    private let thread: TestThread

    public init() throws {
        let loop = try EventLoop()
        self.loop = loop
        thread = TestThread { loop.run() }
        thread.start()
    }

    deinit {
        loop.stop()
        thread.join()
    }

    /// Runs `body` on the loop and waits (up to `timeout` ms) until it calls its completion; nil on timeout.
    public func run<T: Sendable>(timeout: Int = 10_000, _ body: @escaping @Sendable (@escaping (T) -> Void) -> Void) -> T? {
        let result = Mutex<T?>(nil)
        let done = ThreadSemaphore()
        loop.execute {
            body { value in
                result.withLock { if $0 == nil { $0 = value } }
                done.signal()
            }
        }
        guard done.wait(timeoutMilliseconds: timeout) else { return nil }
        return result.withLock { $0 }
    }

    /// Runs `body` on the loop and waits for it to return.
    public func sync(_ body: @escaping @Sendable () -> Void) {
        _ = run { (done: @escaping (Bool) -> Void) in
            body()
            done(true)
        }
    }
}
