import ArgumentParser
import Glibc
import HoldfastConfig
import HoldfastCore
import HoldfastServer
import Logging

/// `holdfast serve`: runs the server until SIGTERM/SIGINT.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server (embedded defaults when given no options).",
        discussion: """
            Settings come from, in increasing priority: the embedded defaults, the TOML file given with --config \
            (config/holdfast.toml documents every key), HOLDFAST_* environment variables, and these options.
            """
    )

    @Option(name: .long, help: "TOML configuration file.")
    var config: String?

    @Option(name: .long, help: "Port of the client listener (host from the configuration).")
    var port: UInt16?

    @Option(name: .long, help: "Client listener address, HOST:PORT (overrides --port).")
    var listen: String?

    @Option(name: .long, help: "Port of the admin listener (host from the configuration).")
    var adminPort: UInt16?

    @Option(name: .long, help: "Port of the TLS listener.")
    var tlsPort: UInt16?

    @Option(name: .long, help: "PEM certificate chain for the TLS listener.")
    var tlsCert: String?

    @Option(name: .long, help: "PEM private key for the TLS listener.")
    var tlsKey: String?

    @Option(name: .long, help: "Handler plugin to load at start (default: libChatHandlers.so next to this binary).")
    var handlers: String?

    @Option(name: .long, help: "Number of event loops (0 = one per core).")
    var eventLoops: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func run() throws {
        var settings: Configuration
        do {
            settings = try Configuration.load(path: config, environment: currentEnvironment())
            try applyFlags(to: &settings)
            try settings.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        let level = Logger.Level(rawValue: settings.log.level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "holdfast")

        // Block the shutdown signals before any thread exists, so only the signalfd sees them.
        let signals = try SignalWaiter()
        // Started by a running server's binary upgrade: take its sockets over instead of binding.
        let handoff = Server.inheritedHandoffFD(environment: currentEnvironment())
        unsetenv("HOLDFAST_HANDOFF_FD")
        let server: Server
        do {
            server = try Server(
                configuration: settings, logger: logger,
                binaryVersion: "\(HoldfastVersion.string)+\(ProcessEnvironment.buildTag)")
            if let handoff {
                try server.takeOver(handoffFD: handoff)
            } else {
                try server.start()
            }
        } catch {
            logger.critical("cannot start: \(error)")
            // Exit without running anything that could touch an inherited socket.
            if handoff != nil { _exit(2) }
            throw ExitCode(2)
        }
        server.runUntilSignalled(signals: signals)
    }

    private func applyFlags(to settings: inout Configuration) throws {
        let flag = "command-line option"
        if let port { settings.server.listen.port = port }
        if let listen { try key("server", "listen").apply(listen, to: &settings, source: flag) }
        if let tlsPort { settings.tls.listen.port = tlsPort }
        if let adminPort { settings.admin.listen.port = adminPort }
        if let handlers { settings.server.handlersPath = handlers }
        if let tlsCert { settings.tls.certificatePath = tlsCert }
        if let tlsKey { settings.tls.keyPath = tlsKey }
        if let eventLoops { try key("server", "event_loops").apply(String(eventLoops), to: &settings, source: flag) }
        if let logLevel { try key("log", "level").apply(logLevel, to: &settings, source: flag) }
    }

    private func key(_ section: String, _ name: String) -> ConfigurationKey {
        ConfigurationKey.all.first { $0.section == section && $0.name == name }!
    }
}

/// The process environment as a dictionary.
func currentEnvironment() -> [String: String] { ProcessEnvironment.current() }
