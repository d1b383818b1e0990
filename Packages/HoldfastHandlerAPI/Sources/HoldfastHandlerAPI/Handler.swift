/// The entry object of a handler plugin: one per loaded `.so`, handed to the host by the plugin's
/// `holdfast_plugin_factory` C entry point (see ``HoldfastPluginExport``).
///
/// Plays the role of an OTP application's `code_change`: the host never interprets handler state, it only
/// carries the bytes from the old code's ``RoomHandler/exportState()`` through ``migrate(fromVersion:state:)``
/// into ``makeHandler(state:)`` of the new code.
public protocol HandlerFactory: AnyObject, Sendable {
    /// The plugin's version string (for instance `"1.0.0"`), reported by the admin status and passed to the
    /// next version's ``migrate(fromVersion:state:)``.
    var pluginVersion: String { get }

    /// Builds a handler from state in this plugin's own format (the output of ``RoomHandler/exportState()``
    /// of the same version, or of ``migrate(fromVersion:state:)``), or with fresh state when `state` is nil.
    /// Throws when the state cannot be decoded; the host then keeps its current handler.
    func makeHandler(state: [UInt8]?) throws -> any RoomHandler

    /// Like ``makeHandler(state:)``, with the operator's settings for the plugin: the JSON file named by the
    /// server's `server.handler_config`, read at every start, swap and rollback (`.null` when none is set). Throws
    /// to refuse settings it cannot use; the host then keeps its current handler. The default ignores `config`.
    func makeHandler(state: [UInt8]?, config: HandlerValue) throws -> any RoomHandler

    /// Converts state exported by version `fromVersion` of the handlers into this plugin's format.
    /// Must be a pure function of its inputs: when it throws, the upgrade is abandoned and nothing changes.
    /// Unknown versions should throw ``HandlerMigrationError/unsupportedVersion(from:to:)``.
    func migrate(fromVersion: String, state: [UInt8]) throws -> [UInt8]

    /// Converts state of this plugin's format into the format of the older version `toVersion`, so the host
    /// can roll back to code that does not know this version. The default refuses every version.
    func downgrade(toVersion: String, state: [UInt8]) throws -> [UInt8]
}

extension HandlerFactory {
    /// Ignores the settings.
    public func makeHandler(state: [UInt8]?, config: HandlerValue) throws -> any RoomHandler {
        try makeHandler(state: state)
    }

    /// Refuses: a plugin that can be rolled back from implements this.
    public func downgrade(toVersion: String, state: [UInt8]) throws -> [UInt8] {
        throw HandlerMigrationError.unsupportedVersion(from: pluginVersion, to: toVersion)
    }
}

/// The chat logic rooms call, for every room of the process at once: rooms run on several event loops, so
/// implementations are `final` classes whose mutable state sits behind a lock.
///
/// Calls come between two room messages; the host suspends the rooms around the ``exportState()`` of an
/// upgrade, so no call races that export. Before an upgrade the host also exports once while the rooms run (to
/// rehearse the swap in a separate process), so ``exportState()`` must be safe alongside the other calls, as
/// every call already is.
public protocol RoomHandler: AnyObject, Sendable {
    /// The version string of the plugin that built this handler.
    var version: String { get }

    /// Decides a join of `topic` by `user`; an allowed join gets the presence meta to track.
    func authorizeJoin(topic: String, user: String, payload: HandlerValue, now: Int64) -> HandlerJoinDecision

    /// Checks an incoming chat message; nil when acceptable, else the reason sent back in the error reply.
    func validateMessage(topic: String, user: String, body: String) -> String?

    /// The `new_msg` payload of a stored message. `delivery` tells a message stored just now (broadcast to
    /// the room, once per message) from one replayed out of history to a member catching up.
    func messagePayload(
        topic: String, id: Int64, user: String, body: String, timestamp: Int64, clientID: HandlerValue?,
        delivery: MessageDelivery
    ) -> HandlerValue

    /// The handler's state in its plugin's own compact binary format (see ``BinaryWriter``). Must not change
    /// the handler: an upgrade that fails afterwards keeps serving with it.
    func exportState() -> [UInt8]

    /// A readable view of the state for the admin status and tests. The default is `null`.
    func stateSummary() -> HandlerValue
}

extension RoomHandler {
    /// No summary.
    public func stateSummary() -> HandlerValue { .null }
}

/// The outcome of ``RoomHandler/authorizeJoin(topic:user:payload:now:)``.
@frozen
public enum HandlerJoinDecision: Sendable, Equatable {
    case allow(presenceMeta: HandlerValue)
    case deny(reason: String)
}

/// Why ``RoomHandler/messagePayload(topic:id:user:body:timestamp:clientID:delivery:)`` is asked.
@frozen
public enum MessageDelivery: Sendable, Equatable {
    /// The message was stored just now and is broadcast to the room (asked once per message).
    case live
    /// The message is replayed from history to a member that joined with `last_seen_id`.
    case replay
}

/// Errors a plugin's migration throws.
@frozen
public enum HandlerMigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The plugin has no conversion between these two versions.
    case unsupportedVersion(from: String, to: String)
    /// The state was decoded but breaks the plugin's rules.
    case invalidState(String)

    public var description: String {
        switch self {
        case .unsupportedVersion(let from, let to): return "no state migration from version \(from) to \(to)"
        case .invalidState(let reason): return "invalid handler state: \(reason)"
        }
    }
}
