import Foundation

/// Machine-wide loss counters of the kernel's network stack, read from `/proc/net`, so that a run can tell a stall
/// of TCP itself (packets dropped on loopback and retransmitted after a timeout) from a stall of the server or the
/// client.
///
/// Why: on loopback a packet is queued on the sending CPU's backlog (`net.core.netdev_max_backlog`, 1,000 by
/// default) until the receive softirq takes it. A busy machine (other processes' loopback traffic, a softirq
/// deferred to `ksoftirqd`) overflows that queue, and the kernel drops the packet as if on a wire. The sender then
/// waits for its retransmission timeout: 200 ms at least, doubled on every further loss, and 1 s for a SYN. Both
/// ends sit idle meanwhile, with nothing to read and nothing to write, which is exactly what a stalled round looks
/// like from user space.
struct KernelNetCounters: Codable, Equatable {
    /// Packets dropped because a CPU's backlog was full (second column of `/proc/net/softnet_stat`, all CPUs).
    var backlogDrops: UInt64 = 0
    /// Retransmission timeouts (`TcpExt: TCPTimeouts`): each one is a sender that waited out its RTO.
    var retransmissionTimeouts: UInt64 = 0
    /// SYNs sent again (`TcpExt: TCPSynRetrans`): a connect that lost its SYN or SYN-ACK waits 1 s, then 2 s more.
    var synRetransmits: UInt64 = 0
    /// Segments retransmitted for any reason (`Tcp: RetransSegs`), tail loss probes included.
    var retransmittedSegments: UInt64 = 0
    /// Times a receiving socket over its memory limit had its queue pruned (`TcpExt: PruneCalled`), and packets
    /// the pruning collapsed into fewer buffers, copying them (`TCPRcvCollapsed`). Not losses: the cost of a
    /// backlog. A sender that runs far ahead of its reader pays for them in its own system time on loopback,
    /// since the receive path runs in the sender's context there.
    var receivePrunes: UInt64 = 0
    var receiveCollapsed: UInt64 = 0

    /// The counters now; nil when `/proc/net` cannot be read (another OS, a restricted container).
    static func read() -> KernelNetCounters? {
        guard let softnet = try? String(contentsOfFile: "/proc/net/softnet_stat", encoding: .utf8),
            let netstat = try? String(contentsOfFile: "/proc/net/netstat", encoding: .utf8),
            let snmp = try? String(contentsOfFile: "/proc/net/snmp", encoding: .utf8)
        else { return nil }
        var counters = KernelNetCounters()
        for line in softnet.split(separator: "\n") {
            let columns = line.split(separator: " ")
            if columns.count > 1, let dropped = UInt64(columns[1], radix: 16) { counters.backlogDrops += dropped }
        }
        let tcpExt = fields(netstat, table: "TcpExt")
        counters.retransmissionTimeouts = tcpExt["TCPTimeouts"] ?? 0
        counters.synRetransmits = tcpExt["TCPSynRetrans"] ?? 0
        counters.retransmittedSegments = fields(snmp, table: "Tcp")["RetransSegs"] ?? 0
        counters.receivePrunes = tcpExt["PruneCalled"] ?? 0
        counters.receiveCollapsed = tcpExt["TCPRcvCollapsed"] ?? 0
        return counters
    }

    /// What happened between `earlier` and this reading.
    func since(_ earlier: KernelNetCounters) -> KernelNetCounters {
        KernelNetCounters(
            backlogDrops: backlogDrops &- earlier.backlogDrops,
            retransmissionTimeouts: retransmissionTimeouts &- earlier.retransmissionTimeouts,
            synRetransmits: synRetransmits &- earlier.synRetransmits,
            retransmittedSegments: retransmittedSegments &- earlier.retransmittedSegments,
            receivePrunes: receivePrunes &- earlier.receivePrunes,
            receiveCollapsed: receiveCollapsed &- earlier.receiveCollapsed)
    }

    /// Whether packets were lost in a way that makes a sender wait a timeout (drops, RTOs, SYNs sent again).
    var lostPackets: Bool { backlogDrops > 0 || retransmissionTimeouts > 0 || synRetransmits > 0 }

    /// One line for the summary.
    var line: String {
        "\(backlogDrops) backlog drops, \(retransmissionTimeouts) retransmission timeouts, "
            + "\(synRetransmits) SYN retransmits, \(retransmittedSegments) segments retransmitted; "
            + "receive queues pruned \(receivePrunes) times, \(receiveCollapsed) packets collapsed"
    }

    /// `/proc/net/netstat` and `/proc/net/snmp` give each table as a line of names and a line of values, both
    /// starting with `Table:`.
    static func fields(_ text: String, table: String) -> [String: UInt64] {
        let prefix = table + ":"
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(prefix) }
        guard lines.count >= 2 else { return [:] }
        var values: [String: UInt64] = [:]
        for (name, value) in zip(lines[0].split(separator: " ").dropFirst(), lines[1].split(separator: " ").dropFirst()) {
            values[String(name)] = UInt64(value)
        }
        return values
    }
}
