import ArgumentParser
import HoldfastConfig

/// The `holdfast` command: the server and its operator tools.
@main
struct Holdfast: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holdfast",
        abstract: "A presence and chat server that survives redeploys.",
        version: HoldfastVersion.string,
        subcommands: [Serve.self, Token.self, Status.self, Upgrade.self, Rollback.self, ValidatePlugin.self],
        defaultSubcommand: nil
    )
}

/// The version this binary reports.
enum HoldfastVersion {
    static let string = "0.1.0"
}
