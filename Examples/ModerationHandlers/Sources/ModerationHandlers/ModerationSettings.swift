public import HoldfastHandlerAPI

/// What an operator sets in the server's `server.handler_config` JSON file:
///
/// ```json
/// {"moderators": ["mia"], "blocked_words": ["spam"], "slow_mode_seconds": 5}
/// ```
///
/// Every key is optional; `null` settings (no file) mean no moderators, no blocked words and no slow mode.
public struct ModerationSettings: Sendable, Equatable {
    /// Users who may `kick`.
    public var moderators: Set<String>
    /// Words a message may not contain (compared in lower case, as whole words).
    public var blockedWords: Set<String>
    /// One message per user per this many milliseconds; 0 turns slow mode off.
    public var slowModeMilliseconds: Int64

    public init(moderators: Set<String> = [], blockedWords: Set<String> = [], slowModeMilliseconds: Int64 = 0) {
        self.moderators = moderators
        self.blockedWords = blockedWords
        self.slowModeMilliseconds = slowModeMilliseconds
    }

    /// Reads the settings; throws for a shape it does not know, which refuses the swap (the server keeps its handler).
    public init(_ config: HandlerValue) throws {
        self.init()
        if config == .null { return }
        guard let members = config.objectMembers else { throw SettingsError("the settings must be a JSON object") }
        for member in members {
            switch member.key {
            case "moderators": moderators = Set(try Self.strings(member.value, "moderators"))
            case "blocked_words":
                blockedWords = Set(try Self.strings(member.value, "blocked_words").map { $0.lowercased() })
            case "slow_mode_seconds":
                guard let seconds = member.value.intValue, (0...86_400).contains(seconds) else {
                    throw SettingsError("slow_mode_seconds must be an integer from 0 to 86400")
                }
                slowModeMilliseconds = seconds * 1_000
            default:
                throw SettingsError("unknown setting \(member.key)")
            }
        }
    }

    /// True when `body` contains a blocked word.
    public func blocks(_ body: String) -> Bool {
        guard !blockedWords.isEmpty else { return false }
        let words = body.lowercased().split { !$0.isLetter && !$0.isNumber }
        return words.contains { blockedWords.contains(String($0)) }
    }

    private static func strings(_ value: HandlerValue, _ key: String) throws -> [String] {
        guard case .array(let items) = value else { throw SettingsError("\(key) must be an array of strings") }
        return try items.map { item in
            guard let text = item.stringValue else { throw SettingsError("\(key) must be an array of strings") }
            return text
        }
    }
}

/// Settings the plugin cannot use.
public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
