import COpenSSL
public import HoldfastRedis

/// A Lua script run with `EVALSHA`, falling back to `EVAL` (which also caches it) when Redis answers `NOSCRIPT`,
/// as it does after a restart.
public struct RedisScript: Sendable, Equatable {
    /// The Lua source.
    public let source: String
    /// Its SHA-1 in hex, the name `EVALSHA` uses.
    public let sha1: String

    /// A script; its digest is computed once, here.
    public init(_ source: String) {
        self.source = source
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        let bytes = Array(source.utf8)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                _ = SHA1(input.baseAddress, input.count, output.baseAddress)
            }
        }
        sha1 = digest.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}

extension RedisClient {
    /// Runs `script` with `keys` and `arguments`. Loop thread.
    public func run(
        _ script: RedisScript, keys: [String], arguments: [RedisArgument],
        _ completion: @escaping (Result<RedisReply, RedisError>) -> Void
    ) {
        let tail = [RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments
        send(["EVALSHA", RedisArgument(script.sha1)] + tail) { [self] result in
            guard case .failure(.server(let message)) = result, message.hasPrefix("NOSCRIPT") else {
                return completion(result)
            }
            send(["EVAL", RedisArgument(script.source)] + tail, completion)
        }
    }
}
