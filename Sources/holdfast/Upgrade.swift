import ArgumentParser
import Glibc
import HoldfastConfig
import HoldfastCore
import HoldfastServer

/// `holdfast upgrade --handlers PATH`: swaps the running server's handler code (admin endpoint).
struct Upgrade: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upgrade the running server in place: new handler code, every connection kept.")

    @Option(name: .long, help: "Handler plugin (.so) to switch to; made absolute before it is sent.")
    var handlers: String?

    @Option(name: .long, help: "New server binary (whole-binary upgrade by socket handoff).")
    var binary: String?

    @OptionGroup var admin: AdminOptions

    func validate() throws {
        guard (handlers == nil) != (binary == nil) else { throw ValidationError("give exactly one of --handlers or --binary") }
    }

    func run() throws {
        let field = handlers != nil ? "handlers" : "binary"
        let path = ProcessEnvironment.absolutePath(handlers ?? binary!)
        let body = Array("{\"\(field)\": \"\(jsonEscaped(path))\"}".utf8)
        try admin.call(method: "POST", path: "/admin/upgrade", body: body)
    }
}

/// `holdfast rollback`: back to the previous handler version.
struct Rollback: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Return the running server to the previous handler version.")

    @OptionGroup var admin: AdminOptions

    func run() throws {
        try admin.call(method: "POST", path: "/admin/rollback", body: Array("{}".utf8))
    }
}

/// Options shared by the commands that call the admin listener.
struct AdminOptions: ParsableArguments {
    @Option(name: .long, help: "TOML configuration file (admin address, token, state dir).")
    var config: String?

    @Option(name: .customLong("admin"), help: "Admin listener address, HOST:PORT (default from the configuration).")
    var address: String?

    @Option(name: .long, help: "Admin bearer token (default: configured or read from the state dir).")
    var token: String?

    /// Sends the request, prints the answer, and fails the command when the server refused.
    func call(method: String, path: String, body: [UInt8] = []) throws {
        var settings = try loadSettings(config)
        if let address {
            guard let parsed = SocketAddress(parsing: address) else { throw ValidationError("--admin must be HOST:PORT") }
            settings.admin.listen = parsed
        }
        let client = try AdminClient(configuration: settings, token: token)
        let (status, answer) = try client.request(method: method, path: path, body: body)
        print(answer, terminator: answer.hasSuffix("\n") ? "" : "\n")
        if status != 200 { throw ExitCode(1) }
    }
}

private func jsonEscaped(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case _ where scalar.value < 0x20: result += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}
