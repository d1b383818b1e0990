import ArgumentParser
import HoldfastConfig
import HoldfastCore
import HoldfastServer

/// `holdfast status`: the running server's `GET /admin/status`.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the running server's status (admin endpoint).")

    @Option(name: .long, help: "TOML configuration file (admin address, token, state dir).")
    var config: String?

    @Option(name: .long, help: "Admin listener address, HOST:PORT (default from the configuration).")
    var admin: String?

    @Option(name: .long, help: "Admin bearer token (default: configured or read from the state dir).")
    var token: String?

    func run() throws {
        var settings = try loadSettings(config)
        if let admin {
            guard let address = SocketAddress(parsing: admin) else { throw ValidationError("--admin must be HOST:PORT") }
            settings.admin.listen = address
        }
        let client = try AdminClient(configuration: settings, token: token)
        let (status, body) = try client.request(method: "GET", path: "/admin/status")
        print(body, terminator: body.hasSuffix("\n") ? "" : "\n")
        if status != 200 { throw ExitCode(1) }
    }
}

/// Loads the configuration for an operator command (file + environment), turning errors into usage errors.
func loadSettings(_ path: String?) throws -> Configuration {
    do {
        return try Configuration.load(path: path, environment: currentEnvironment())
    } catch {
        throw ValidationError("\(error)")
    }
}
