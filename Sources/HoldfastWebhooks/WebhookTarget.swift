import Glibc
public import HoldfastCore

/// Where batches are posted: an `http://host:port/path` URL with a numeric host (or `localhost`).
public struct WebhookTarget: Sendable, Equatable {
    public var url: String
    public var address: SocketAddress
    public var hostHeader: String
    public var path: String

    /// Parses `url`; nil when it is not `http://` with a numeric host.
    public init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        var hostPort = authority
        if !authority.contains(":") { hostPort += ":80" }
        if hostPort.hasPrefix("localhost:") { hostPort = "127.0.0.1" + hostPort.dropFirst("localhost".count) }
        guard let address = SocketAddress(parsing: hostPort), !path.contains(" ") else { return nil }
        self.url = url
        self.address = address
        hostHeader = authority
    }

    /// Posts `body` with `headers`; returns the status code, or nil when the receiver could not be reached or
    /// answered nothing within `timeoutMilliseconds`.
    func post(body: [UInt8], headers: [(String, String)], timeoutMilliseconds: Int64) -> Int? {
        let fd = socket(
            address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var timeout = timeval(tv_sec: Int(timeoutMilliseconds / 1000), tv_usec: Int(timeoutMilliseconds % 1000) * 1000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard (try? address.connect(fd)) == true else { return nil }
        var head = "POST \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Type: application/json\r\n"
        head += "Content-Length: \(body.count)\r\nConnection: close\r\nUser-Agent: holdfast-webhooks\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        var offset = 0
        while offset < request.count {
            let sent = request.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard sent > 0 else { return nil }
            offset += sent
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while answer.count < 16_384, !answer.contains(UInt8(ascii: "\n")) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            answer += buffer[0..<count]
        }
        return Self.status(of: answer)
    }

    /// The status code of a response's first line (`HTTP/1.x NNN ...`).
    static func status(of answer: [UInt8]) -> Int? {
        let line = String(
            decoding: answer.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]) else { return nil }
        return code
    }
}
