public import HoldfastHandlerAPI

/// Holdfast moderation handlers, the plugin's entry object.
///
/// State migrates from the built-in chat handlers (1.0.0: messages per room) and back: ``migrate(fromVersion:state:)``
/// keeps the message counts and starts the blocked and kick counts at 0; ``downgrade(toVersion:state:)`` keeps the
/// message counts (the others have no place in 1.0.0's format). Room state and assigns: see ``ModerationHandler``.
public final class ModerationFactory: HandlerFactory {
    public static let version = "1.0.0-moderation"

    public init() {}

    public var pluginVersion: String { Self.version }

    /// Fresh or own-format state, no settings (no moderators, no blocked words, no slow mode).
    public func makeHandler(state: [UInt8]?) throws -> any RoomHandler {
        try makeHandler(state: state, config: .null)
    }

    /// With the operator's settings (``ModerationSettings``); settings it cannot read refuse the swap.
    public func makeHandler(state: [UInt8]?, config: HandlerValue) throws -> any RoomHandler {
        ModerationHandler(rooms: try state.map(ModerationState.decode) ?? [:], settings: try ModerationSettings(config))
    }

    public func migrate(fromVersion: String, state: [UInt8]) throws -> [UInt8] {
        switch fromVersion {
        case Self.version:
            _ = try ModerationState.decode(state)
            return state
        case BuiltInState.version:
            let counters = try BuiltInState.decode(state)
            return ModerationState.encode(counters.mapValues { RoomCounts(messages: $0) })
        default:
            throw HandlerMigrationError.unsupportedVersion(from: fromVersion, to: Self.version)
        }
    }

    public func downgrade(toVersion: String, state: [UInt8]) throws -> [UInt8] {
        guard toVersion == BuiltInState.version else {
            throw HandlerMigrationError.unsupportedVersion(from: Self.version, to: toVersion)
        }
        return BuiltInState.encode(try ModerationState.decode(state).mapValues(\.messages))
    }
}
