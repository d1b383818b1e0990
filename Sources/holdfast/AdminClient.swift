import Glibc
import HoldfastConfig
import HoldfastCore
import HoldfastServer
import HoldfastWeb

/// A minimal blocking HTTP/1.1 client for the admin listener (loopback or a private interface), used by
/// `holdfast status`, `upgrade` and `rollback`.
struct AdminClient {
    let address: SocketAddress
    let token: String

    /// Builds a client from the configuration: the admin address, and the token given, configured, or read from
    /// the state dir where the server generated it.
    init(configuration: Configuration, token explicitToken: String?) throws(AdminClientError) {
        address = configuration.admin.listen
        if let explicitToken, !explicitToken.isEmpty {
            token = explicitToken
        } else if !configuration.admin.token.isEmpty {
            token = configuration.admin.token
        } else {
            let path = configuration.server.stateDirectory + "/admin_token"
            guard let bytes = Self.read(path) else {
                throw .noToken(path: path)
            }
            token = AdminToken.text(fromStored: bytes)
        }
    }

    /// Sends one request and returns the status code and body.
    func request(method: String, path: String, body: [UInt8] = []) throws(AdminClientError) -> (status: Int, body: String) {
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .connect(address: "\(address)", reason: "socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard (try? address.connect(fd)) == true else {
            throw .connect(address: "\(address)", reason: SystemError("connect").reason)
        }
        var request = Array(
            "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n".utf8)
        request += Array("Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        var sent = 0
        while sent < request.count {
            let written = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw .connect(address: "\(address)", reason: "send failed") }
            sent += written
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response += chunk[0..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard text.hasPrefix("HTTP/1."), let space = text.firstIndex(of: " "),
            let status = Int(text[text.index(after: space)...].prefix(3))
        else { throw .badResponse }
        var bodyText = ""
        if let end = (0..<max(0, response.count - 3)).first(where: { response[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) {
            bodyText = String(decoding: response[(end + 4)...], as: UTF8.self)
        }
        return (status, bodyText)
    }

    private static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = fread(&bytes, 1, bytes.count, file)
        return count > 0 ? Array(bytes[0..<count]) : nil
    }
}

/// Why an admin call could not be made.
enum AdminClientError: Error, CustomStringConvertible {
    case noToken(path: String)
    case connect(address: String, reason: String)
    case badResponse

    var description: String {
        switch self {
        case .noToken(let path):
            "no admin token: pass --token, set HOLDFAST_ADMIN_TOKEN, or run with the server's state dir (\(path))"
        case .connect(let address, let reason):
            "cannot reach the admin listener at \(address): \(reason); is the server running with this configuration?"
        case .badResponse:
            "the admin listener answered with something that is not HTTP"
        }
    }
}
