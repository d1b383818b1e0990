import Glibc
import HoldfastCore
import HoldfastHandoff
import Testing

/// The new binary's side of the channel: what a spawned child inherits.
@Suite struct ChildChannelTests {
    @Test func theChildGetsTheChannelAsFd3AndNoOtherDescriptor() throws {
        let (mine, theirs) = try HandoffChannel.makePair()
        defer { mine.close() }
        // A stray descriptor without close-on-exec must not reach the child either.
        let (strayA, strayB) = makeSocketPair()
        defer { close(strayA); close(strayB) }
        let script = "ls /proc/self/fd | sort -n | tr '\\n' ' ' >&3; exit 7"
        let child = try ChildProcess.spawn(
            path: "/bin/sh", arguments: ["-c", script], environment: ["PATH=/usr/bin:/bin"], inherit: theirs.fd)
        theirs.close()
        let (payload, fds) = try receiveRaw(mine)
        #expect(fds.isEmpty)
        let listed = String(decoding: payload, as: UTF8.self).split(separator: " ").map(String.init)
        // 0-2, the channel as 3, and the descriptor `ls` opens to read the directory.
        #expect(listed.count == 5, "fds in the child: \(listed)")
        #expect(Array(listed.prefix(4)) == ["0", "1", "2", "3"])
        var status: String?
        for _ in 0..<200 where status == nil {
            status = child.exitStatus()
            usleep(5_000)
        }
        #expect(status == "exited with status 7")
    }

    /// Shell output arrives on a SOCK_SEQPACKET channel without the handoff header, so read it raw.
    private func receiveRaw(_ channel: HandoffChannel) throws -> ([UInt8], [Int32]) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var entry = pollfd(fd: channel.fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&entry, 1, 5_000)
        let count = recv(channel.fd, &buffer, buffer.count, 0)
        return (count > 0 ? Array(buffer[0..<count]) : [], [])
    }
}

/// A connected Unix socket pair without close-on-exec: a stray descriptor the child must not inherit.
private func makeSocketPair() -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    precondition(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    return (fds[0], fds[1])
}
