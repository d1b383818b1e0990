public import HoldfastJSON
public import HoldfastHandlerAPI

// The host's payloads are `JSONValue`s (HoldfastChannels), which plugins cannot see; these conversions walk
// the tree once, without JSON text. Integers map to `.int`, doubles to `.double`; object members keep
// their order.

extension HandlerValue {
    /// The plugin-side form of a host payload.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .int(number)
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .array(let elements): self = .array(elements.map(HandlerValue.init))
        case .object(let members): self = .object(members.map { HandlerMember($0.key, HandlerValue($0.value)) })
        }
    }
}

extension JSONValue {
    /// The host form of a value a plugin returned.
    public init(_ value: HandlerValue) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .integer(number)
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .array(let elements): self = .array(elements.map(JSONValue.init))
        case .object(let members): self = .object(members.map { JSONMember($0.key, JSONValue($0.value)) })
        }
    }
}
