public import HoldfastJSON

/// Refs as Holdfast keeps them: `String`s that remember the JSON type they arrived with.
///
/// Phoenix echoes a `ref` or `join_ref` with its own type: the number 42 comes back as 42, the string "42" as
/// "42", and clients other than phoenix.js send numbers. Inside Holdfast a ref is an opaque token compared for
/// equality and carried as a string everywhere (channel state, rooms, handoff records), so an integer is kept as
/// its decimal digits behind the marker U+0001, and a string that itself starts with U+0001 gets the marker
/// doubled. The mapping is one to one, ordinary string refs are unchanged, and the type survives a handoff to a
/// process of any version that keeps refs as strings.
public enum PhoenixRef {
    private static let marker: Character = "\u{1}"

    /// The internal form of a ref as it arrived: a string, an integer, or `null` (nil).
    /// - Throws: ``PhoenixDecodeError/wrongShape(_:)`` for any other JSON type.
    public static func decode(_ value: JSONValue, name: String) throws(PhoenixDecodeError) -> String? {
        switch value {
        case .null: return nil
        case .string(let text): return text.first == marker ? String(marker) + text : text
        case .integer(let number): return String(marker) + String(number)
        default: throw .wrongShape("\(name) must be a string or null")
        }
    }

    /// The JSON a ref goes back out as: the type it arrived with.
    public static func json(_ ref: String?) -> JSONValue {
        guard let ref else { return .null }
        guard ref.first == marker else { return .string(ref) }
        let rest = ref.dropFirst()
        if rest.first == marker { return .string(String(rest)) }
        // Only decode(_:name:) makes a marked ref, from an integer.
        return Int64(rest).map(JSONValue.integer) ?? .string(String(rest))
    }

    /// Appends the ref as JSON (see ``json(_:)``) without building a value for the common string case.
    static func append(_ ref: String?, to output: inout [UInt8]) {
        guard let ref else {
            output.append(contentsOf: "null".utf8)
            return
        }
        guard ref.first == marker else {
            JSON.appendString(ref, to: &output)
            return
        }
        JSON.encode(json(ref), into: &output)
    }
}
