/// Links a server API publish to the connection that awaits its answer, so that a binary upgrade can move the
/// wait with the connection.
public enum PublishNote {
    /// Bound by the API listener while it hands a request to the service (on that thread): the backend calls it
    /// with each publish's room and ticket.
    @TaskLocal public static var current: (@Sendable (String, UInt64) -> Void)?
}
