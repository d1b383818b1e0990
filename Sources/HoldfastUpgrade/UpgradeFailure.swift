/// Why an upgrade was refused: the HTTP status, the check that failed, and what to do.
public struct UpgradeFailure: Error, Sendable {
    public let status: Int
    public let check: String
    public let reason: String

    public init(status: Int, check: String, reason: String) {
        self.status = status
        self.check = check
        self.reason = reason
    }

    /// A handler swap's refusal, as the admin interface answers it.
    public init(_ error: PluginUpgradeError) {
        self.init(status: error.httpStatus, check: error.check, reason: error.description)
    }
}
