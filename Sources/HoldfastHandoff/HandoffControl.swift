public import HoldfastBytes

/// The messages that frame a binary upgrade's handoff, besides the record stream itself:
///
/// ```
/// new → old   READY     started, configuration and plugins loaded, nothing bound
/// old → new   staging records…  END   (HandoffWriter; the old process still serves)
/// new → old   STAGED    every connection built and registered, not serving   (or FAILED)
/// old → new   catch-up records…  END, answered STAGED (still serving; once or twice: what changed since)
/// old → new   final records…  END     (during the pause: the header, what changed, and the rooms)
/// new → old   DONE      everything rebuilt, not serving yet        (or FAILED with the reason)
/// old → new   COMMIT    the old process will never touch a handed-over socket again (carries the pause so far)
/// new → old   ACK       serving
/// ```
///
/// Until COMMIT the old process may still roll back: it kills the new one (and waits for it to be gone) before
/// it touches any socket again. The new process therefore serves only after COMMIT, or after the channel closes
/// once DONE is sent (the old process died: the sockets are the new one's alone). ``HandoverMachine`` and
/// ``TakeoverMachine`` are the two sides of this exchange.
public enum HandoffControl: Sendable, Equatable {
    /// The new process started: its pid, binary version and the offered ``HandoffFeatures`` it accepts (written
    /// only when there are any, so a build that offered none reads READY as it always did).
    case ready(pid: Int32, version: String, features: HandoffFeatures = [])
    /// The new process built a staging or catch-up round: how many connections it holds.
    case staged(connections: Int)
    /// The new process rebuilt everything and waits for COMMIT.
    case done(connections: Int, rooms: Int, rebuildMilliseconds: Double)
    /// The new process cannot take over, and why.
    case failed(reason: String)
    /// The old process lets go of every handed-over socket; the pause it measured so far.
    case commit(pauseMilliseconds: Double)
    /// The new process serves.
    case ack

    private static let readyKind: UInt8 = 0x59  // "Y"
    private static let stagedKind: UInt8 = 0x53  // "S"
    private static let doneKind: UInt8 = 0x44  // "D"
    private static let failedKind: UInt8 = 0x46  // "F"
    private static let commitKind: UInt8 = 0x4B  // "K"
    private static let ackKind: UInt8 = 0x41  // "A"

    /// The message's bytes (durations travel as whole microseconds).
    public func encode() -> [UInt8] {
        var out = ByteWriter()
        switch self {
        case .ready(let pid, let version, let features):
            out.byte(Self.readyKind)
            out.signed(Int64(pid))
            out.string(version)
            if !features.isEmpty { out.unsigned(features.rawValue) }
        case .staged(let connections):
            out.byte(Self.stagedKind)
            out.int(connections)
        case .done(let connections, let rooms, let milliseconds):
            out.byte(Self.doneKind)
            out.int(connections)
            out.int(rooms)
            out.int(Int(milliseconds * 1000))
        case .failed(let reason):
            out.byte(Self.failedKind)
            out.string(reason)
        case .commit(let pause):
            out.byte(Self.commitKind)
            out.int(Int(pause * 1000))
        case .ack:
            out.byte(Self.ackKind)
        }
        return out.bytes
    }

    /// Reads one message; anything unknown or left over is an error.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        switch try input.byte() {
        case Self.readyKind:
            guard let pid = Int32(exactly: try input.signed()) else { throw ByteReadError.invalid("bad pid") }
            let version = try input.string()
            // Bits this binary does not know stay: the old process only ever acts on the ones it offered.
            let features = input.isAtEnd ? HandoffFeatures() : HandoffFeatures(rawValue: try input.unsigned())
            self = .ready(pid: pid, version: version, features: features)
        case Self.stagedKind:
            self = .staged(connections: try input.int())
        case Self.doneKind:
            self = .done(
                connections: try input.int(), rooms: try input.int(),
                rebuildMilliseconds: Double(try input.int()) / 1000)
        case Self.failedKind:
            self = .failed(reason: try input.string())
        case Self.commitKind:
            self = .commit(pauseMilliseconds: Double(try input.int()) / 1000)
        case Self.ackKind:
            self = .ack
        case let other:
            throw ByteReadError.invalid("unknown control message \(other)")
        }
        try input.expectEnd()
    }
}
