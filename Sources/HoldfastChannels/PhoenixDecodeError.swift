public import HoldfastJSON

/// Why an inbound frame is not a Phoenix message.
///
/// Phoenix's serializers raise on such frames, which crashes the socket process and closes the
/// connection; ``ChannelSocketState/receiveUndecodable(_:now:)`` mirrors that.
public enum PhoenixDecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text frame is not JSON.
    case notJSON(JSONError)
    /// JSON, but not a message: wrong arity, a missing key, a topic that is not a string.
    case wrongShape(String)
    /// A binary frame that is not a well-formed v2 push.
    case badBinary(String)

    public var description: String {
        switch self {
        case .notJSON(let error): "frame is not JSON: \(error)"
        case .wrongShape(let detail): "frame is not a Phoenix message: \(detail)"
        case .badBinary(let detail): "binary frame is not a Phoenix push: \(detail)"
        }
    }
}
