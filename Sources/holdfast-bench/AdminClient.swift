import Glibc
import HoldfastCore

/// A blocking HTTP/1.1 client for the server's admin listener, used by the `upgrade` scenario's coordinating
/// thread (the loops keep the chat traffic going meanwhile).
struct AdminClient {
    /// An answer: the status code and the body as text.
    struct Response {
        var status: Int
        var body: String
    }

    let target: Target
    let token: String

    /// The token given, read from `file`, or taken from `HOLDFAST_ADMIN_TOKEN`, in that order.
    ///
    /// A file the server generated (`<state_dir>/admin_token`) holds the raw token bytes, which the server
    /// presents as lowercase hex; a file that already holds text is used as it is.
    static func token(explicit: String?, file: String?) throws(BenchError) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let file {
            guard let bytes = readFile(file), !bytes.isEmpty else { throw BenchError("cannot read the admin token from \(file)") }
            let text = bytes.prefix { $0 != 10 && $0 != 13 }
            let isHex = text.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
            if isHex, !text.isEmpty { return String(decoding: text, as: UTF8.self) }
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
        }
        if let value = getenv("HOLDFAST_ADMIN_TOKEN"), value.pointee != 0 { return String(cString: value) }
        throw BenchError("the upgrade scenario needs --admin-token, --admin-token-file or HOLDFAST_ADMIN_TOKEN")
    }

    /// Sends one request with the bearer token and waits at most `timeout` seconds for the whole answer.
    func request(_ method: String, _ path: String, body: [UInt8] = [], timeout: Double) throws(BenchError) -> Response {
        let deadline = MonotonicClock.nowNanoseconds() + UInt64(timeout * 1e9)
        let fd: Int32
        switch target.startConnect() {
        case .success(let socket): fd = socket
        case .failure(let error): throw BenchError("admin listener \(target.hostHeader): \(error)")
        }
        defer { Socket.close(fd) }
        try wait(fd, for: Int16(POLLOUT), until: deadline)
        if let error = Target.connectError(fd) { throw BenchError("admin listener \(target.hostHeader): \(error)") }
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nAuthorization: Bearer \(token)\r\n".utf8)
        request += Array("Connection: close\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        var sent = 0
        while sent < request.count {
            switch request.withUnsafeBytes({ Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[sent...])) }) {
            case .done(let count): sent += count
            case .wouldBlock: try wait(fd, for: Int16(POLLOUT), until: deadline)
            case .failed(let error): throw BenchError("sending to the admin listener: \(error)")
            }
        }
        return try readResponse(fd, until: deadline)
    }

    /// Reads until the head and `Content-Length` bytes of body are in, or the server closes.
    private func readResponse(_ fd: Int32, until deadline: UInt64) throws(BenchError) -> Response {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            if let response = AdminClient.parse(bytes, complete: false) { return response }
            let result = chunk.withUnsafeMutableBytes { Socket.read(fd, into: $0) }
            switch result {
            case .done(0):
                guard let response = AdminClient.parse(bytes, complete: true) else {
                    throw BenchError("the admin listener closed the connection before answering")
                }
                return response
            case .done(let count): bytes += chunk[0..<count]
            case .wouldBlock: try wait(fd, for: Int16(POLLIN), until: deadline)
            case .failed(let error): throw BenchError("reading from the admin listener: \(error)")
            }
        }
    }

    /// The response in `bytes`, once whole: its head and `Content-Length` body bytes (or, with no length, all
    /// bytes up to the close).
    private static func parse(_ bytes: [UInt8], complete: Bool) -> Response? {
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { bytes[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) else {
            return nil
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
              let status = Int(statusLine.dropFirst(9).prefix(3)) else { return Response(status: 0, body: head) }
        let length = lines.dropFirst().compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].drop { $0 == " " })
        }.first
        let body = bytes[(end + 4)...]
        if let length {
            guard body.count >= length else { return nil }
            return Response(status: status, body: String(decoding: body.prefix(length), as: UTF8.self))
        }
        return complete ? Response(status: status, body: String(decoding: body, as: UTF8.self)) : nil
    }

    /// Polls `fd` for `events` until `deadline`.
    private func wait(_ fd: Int32, for events: Int16, until deadline: UInt64) throws(BenchError) {
        try pollWait(fd, for: events, until: deadline, late: "the admin listener did not answer in time")
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = fread(&bytes, 1, bytes.count, file)
        return Array(bytes[0..<count])
    }
}
