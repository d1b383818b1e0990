import Glibc
import HoldfastAuth

/// Signs Holdfast connect tokens with the server's own token code, so the benchmark can open Phoenix sockets as
/// many distinct users without asking the server for each one.
struct TokenSigner: Sendable {
    /// The server secret, as the raw bytes of the `HOLDFAST_SECRET_KEY` string.
    let secret: [UInt8]
    private let issuedAt: Int64

    init(secret: String) {
        self.secret = Array(secret.utf8)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        issuedAt = Int64(now.tv_sec)
    }

    /// A token for `user`, valid for a day from when the signer was made.
    func token(user: String) -> String {
        ConnectToken.sign(user: user, issuedAt: issuedAt, ttlSeconds: 86_400, secret: secret)
    }
}
