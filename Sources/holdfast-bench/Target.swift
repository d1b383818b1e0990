import Glibc
import HoldfastCore

/// A fault that ends a benchmark run before it measures anything (bad flags, unreachable host, broken worker).
struct BenchError: Error, CustomStringConvertible {
    /// What went wrong, for the operator.
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The server under load: a `ws://`, `wss://` or `http://` URL split into what `connect` and the request need.
///
/// The address is resolved once, up front, and kept as raw `sockaddr` bytes so the value stays `Sendable` and
/// every connection of every loop reuses it without a lookup.
struct Target: Sendable {
    /// The URL scheme: `ws`, `wss` (TLS) or `http` (the admin listener).
    var scheme: String
    /// The host as written in the URL, sent in the `Host` header.
    var host: String
    /// The TCP port (the scheme's default when the URL names none).
    var port: UInt16
    /// The request target, e.g. `/ws/echo`.
    var path: String
    /// The resolved socket address (`sockaddr_in` or `sockaddr_in6` bytes).
    private var address: [UInt8]
    /// `AF_INET` or `AF_INET6`.
    private var family: Int32

    /// The schemes the benchmark speaks, with their default ports.
    private static let defaultPorts: [String: UInt16] = ["ws": 80, "wss": 443, "http": 80]

    /// Parses `SCHEME://HOST[:PORT][/PATH]` for a scheme in `schemes` and resolves the host.
    init(url: String, schemes: Set<String> = ["ws"]) throws(BenchError) {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, schemes.contains(String(parts[0])), let defaultPort = Target.defaultPorts[String(parts[0])] else {
            let list = schemes.sorted().map { "\($0)://" }.joined(separator: " or ")
            throw BenchError("expected a \(list) URL: \(url)")
        }
        scheme = String(parts[0])
        let rest = parts[1]
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw BenchError("bad IPv6 host in \(url)") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let tail = authority[authority.index(after: close)...]
            port = tail.isEmpty ? defaultPort : UInt16(tail.dropFirst()) ?? 0
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = UInt16(authority[authority.index(after: colon)...]) ?? 0
        } else {
            host = String(authority)
            port = defaultPort
        }
        guard !host.isEmpty, port != 0 else { throw BenchError("bad host or port in \(url)") }
        (address, family) = try Target.resolve(host: host, port: port)
    }

    /// Whether connections to this target speak TLS.
    var secure: Bool { scheme == "wss" }

    /// Whether the host is an IP literal (TLS sends no server name for those).
    var hostIsAddress: Bool {
        var scratch = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, host, &scratch) == 1 || inet_pton(AF_INET6, host, &scratch) == 1
    }

    /// The `Host` header value.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == Target.defaultPorts[scheme] ? name : "\(name):\(port)"
    }

    private static func resolve(host: String, port: UInt16) throws(BenchError) -> ([UInt8], Int32) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list, let raw = first.pointee.ai_addr else {
            throw BenchError("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        let bytes = UnsafeRawBufferPointer(start: raw, count: Int(first.pointee.ai_addrlen))
        return (Array(bytes), first.pointee.ai_family)
    }

    /// Opens a non-blocking, close-on-exec TCP socket with `TCP_NODELAY` and starts connecting it.
    ///
    /// Returns the fd with the connect under way (`EINPROGRESS`) or done; the caller waits for writability and
    /// then reads the outcome with ``connectError(_:)``. HoldfastCore only listens, so the client side lives here.
    func startConnect() -> Result<Int32, SystemError> {
        let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(family, flags, 0)
        guard fd >= 0 else { return .failure(SystemError("socket")) }
        // Echo frames are small and latency-bound; Nagle would hold them back.
        try? Socket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        let result = address.withUnsafeBytes { raw in
            connect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if result == 0 || errno == EINPROGRESS { return .success(fd) }
        let error = SystemError("connect")
        Socket.close(fd)
        return .failure(error)
    }

    /// The outcome of a finished non-blocking connect: nil on success.
    static func connectError(_ fd: Int32) -> SystemError? {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return SystemError("getsockopt") }
        return code == 0 ? nil : SystemError("connect", code: code)
    }
}

/// Raises this process's open-file soft limit to its hard limit: every connection costs one fd.
func raiseFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
