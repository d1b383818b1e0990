import ArgumentParser
import Glibc
import HoldfastAuth
import HoldfastConfig
import HoldfastServer

/// `holdfast token --user ID`: prints a signed connect token for the `token` param of `/socket/websocket`.
struct Token: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a signed connect token for a user.",
        discussion: """
            Signs with HOLDFAST_SECRET_KEY / server.secret_key, or with the secret generated in the state dir, \
            so run it with the same config and state dir as the server.
            """
    )

    @Option(name: .long, help: "The user id the token names.")
    var user: String

    @Option(name: .long, help: "Seconds until the token expires.")
    var ttl: Int64 = 86_400

    @Option(name: .long, help: "TOML configuration file (for the secret and the state dir).")
    var config: String?

    func validate() throws {
        guard !user.isEmpty, user.utf8.count <= 256 else { throw ValidationError("--user must be 1 to 256 bytes") }
        guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
    }

    func run() throws {
        let settings: Configuration
        let secret: [UInt8]
        do {
            settings = try Configuration.load(path: config, environment: currentEnvironment())
            secret = try SecretStore.loadOrCreate(
                configured: settings.server.secretKey, stateDirectory: settings.server.stateDirectory)
        } catch {
            throw ValidationError("\(error)")
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        print(ConnectToken.sign(user: user, issuedAt: Int64(now.tv_sec), ttlSeconds: ttl, secret: secret))
    }
}
