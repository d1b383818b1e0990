public import HoldfastConfig
public import Logging

extension WebhookDispatcher {
    /// The dispatcher `[webhooks]` asks for; nil when no URL is configured.
    public convenience init?(
        _ configuration: Configuration, logger: Logger, wallMilliseconds: @escaping @Sendable () -> Int64
    ) {
        let hooks = configuration.webhooks
        guard hooks.isEnabled else { return nil }
        var settings = Settings(
            urls: hooks.urls, secret: hooks.secret, stateDirectory: configuration.server.stateDirectory)
        settings.batchMilliseconds = hooks.batchMilliseconds
        settings.timeoutMilliseconds = hooks.timeoutMilliseconds
        settings.maxBackoffMilliseconds = hooks.maxBackoffMilliseconds
        settings.queueMaxBytes = hooks.queueMaxBytes
        settings.clientMessages = hooks.clientMessages
        self.init(settings: settings, logger: logger, wallMilliseconds: wallMilliseconds)
    }
}
