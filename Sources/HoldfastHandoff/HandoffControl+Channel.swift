import HoldfastBytes
import HoldfastCore

extension HandoffControl {
    /// Sends this message on `channel`, waiting at most `timeoutMilliseconds` for room.
    public func send(on channel: HandoffChannel, timeoutMilliseconds: Int) throws(HandoffChannelError) {
        try channel.send(encode(), timeoutMilliseconds: timeoutMilliseconds)
    }

    /// The next message on `channel`; an unreadable one is ``HandoffChannelError/malformed(_:)``. Control
    /// messages carry no fds: any that arrive are closed.
    public static func receive(
        on channel: HandoffChannel, timeoutMilliseconds: Int
    ) throws(HandoffChannelError) -> HandoffControl {
        let (payload, fds) = try channel.receive(timeoutMilliseconds: timeoutMilliseconds)
        for fd in fds { Socket.close(fd) }
        do {
            return try HandoffControl(decoding: payload)
        } catch {
            throw .malformed(error.description)
        }
    }
}
