/// The handler plugin cannot be loaded at start.
public struct HandlerStartError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String

    /// An error for the plugin at `path`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        "cannot load the chat handlers from \(path): \(reason). Build them with `swift build` (the ChatHandlers "
            + "product), or point server.handlers / --handlers at a handler plugin"
    }
}
