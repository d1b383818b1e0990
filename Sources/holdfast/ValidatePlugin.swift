import ArgumentParser
import HoldfastUpgrade

/// `holdfast validate-plugin` (hidden): run by the server itself, in a child process, to rehearse a handler swap
/// before loading the plugin (see PluginValidator). Not meant to be run by hand.
struct ValidatePlugin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: PluginValidator.subcommand,
        abstract: "Rehearse a handler swap read from standard input (run by the server in a child process).",
        shouldDisplay: false)

    func run() throws {
        let status = RehearsalChild.main()
        if status != 0 { throw ExitCode(status) }
    }
}
