import Glibc
public import HoldfastCore

extension HandoffFeatures {
    /// The environment a process starts its successor with: its own, less the handoff's own entries (the
    /// channel's fd, the offer, what it withholds) and systemd's `WATCHDOG_PID`, which names this process (the new
    /// one pings the watchdog once it is the main process), plus the channel's fd (3) and this process's offer.
    public static func successorEnvironment() -> [String] {
        let entries = [HandoffChannel.inheritedFDVariable, offerVariable, withheldVariable, "WATCHDOG_PID"]
            .map { $0 + "=" }
        let kept = ProcessEnvironment.entries().filter { entry in !entries.contains { entry.hasPrefix($0) } }
        let features = own(in: ProcessEnvironment.current())
        return kept + ["\(HandoffChannel.inheritedFDVariable)=3", offer(from: getpid(), features)]
    }
}

extension Quiescence {
    /// The failure of a handoff step that waited for the process to settle; nil when it did.
    public var handoffFailure: HandoffFailure? {
        switch self {
        case .quiescent: nil
        case .unresponsive: .loopsUnresponsive(reason: "an event loop did not answer")
        case .timedOut:
            .notQuiescent(
                reason: "the server did not settle within 5 s (history writes or room work kept going); try again")
        }
    }
}
