import ArgumentParser

/// The `holdfast-bench` command: load scenarios against a running Holdfast server.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holdfast-bench",
        abstract: "Load-test a Holdfast server over WebSocket.",
        subcommands: [
            EchoCommand.self, IdleCommand.self, HandshakesCommand.self, BroadcastCommand.self,
            PresenceBurstCommand.self, ChatCommand.self,
            UpgradeCommand.self, SoakCommand.self,
        ]
    )
}
