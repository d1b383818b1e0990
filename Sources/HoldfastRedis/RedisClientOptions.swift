/// How a client connects and when it gives up on a connection.
public struct RedisClientOptions: Sendable, Equatable {
    /// Limit for one attempt: name resolution, TCP connect and login (`AUTH`, `SELECT`, `PING`).
    public var connectTimeoutMilliseconds: Int64
    /// A command without a reply for this long drops the connection (its callers get ``RedisError/timedOut``) and
    /// starts a reconnect: a Redis that stopped answering is treated as gone.
    public var commandTimeoutMilliseconds: Int64
    /// Delays between attempts.
    public var backoff: RedisBackoff
    /// `CLIENT SETNAME` value, so `CLIENT LIST` on the server shows which node holds which connection.
    public var clientName: String?

    /// Creates options; the defaults suit a Redis on the local network.
    public init(
        connectTimeoutMilliseconds: Int64 = 2_000, commandTimeoutMilliseconds: Int64 = 5_000,
        backoff: RedisBackoff = RedisBackoff(), clientName: String? = nil
    ) {
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.commandTimeoutMilliseconds = commandTimeoutMilliseconds
        self.backoff = backoff
        self.clientName = clientName
    }
}
