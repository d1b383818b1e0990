import Foundation
import Glibc

/// One row of the soak's table: the server's and the bench's footprint, and the counts so far.
struct SoakSample: Codable {
    /// Seconds since traffic started.
    var seconds: Double
    /// The serving process (it changes with a binary upgrade), its resident memory and open files.
    var pid: Int?
    var rssKiB: Int?
    /// The anonymous part of `rssKiB` (heap and stacks, as opposed to mapped code).
    var rssAnonKiB: Int?
    var fds: Int?
    /// Open connections according to `/admin/status`.
    var connections: Int?
    var benchRSSKiB: Int?
    var benchFDs: Int?
    var sent: UInt64
    var acked: UInt64
    /// Deliveries of other members' messages.
    var delivered: UInt64
    /// Acknowledged messages sent before the previous sample that some member of the room still lacks (the
    /// final count, after the drain, is the report's `lost`).
    var lost: UInt64
    var duplicated: UInt64
    var reordered: UInt64
    /// Connections closed by the server (not churn), churned members, and rejoins after either.
    var drops: Int
    var churns: Int
    var reconnects: Int
    /// `presence_diff` frames received while an upgrade was under way.
    var upgradeDiffs: UInt64
    /// Upgrades and swaps since the previous sample.
    var events: [String]

    enum CodingKeys: String, CodingKey {
        case seconds, pid, fds, connections, sent, acked, delivered, lost, duplicated, reordered, drops, churns
        case reconnects, events
        case rssKiB = "rss_kib"
        case rssAnonKiB = "rss_anon_kib"
        case benchRSSKiB = "bench_rss_kib"
        case benchFDs = "bench_fds"
        case upgradeDiffs = "upgrade_diffs"
    }

    /// Reads the server (pid from `status`) and this process, and takes the counts from `result` (a sample of
    /// the runner); `through` is the previous sample's last message number per sender.
    init(
        seconds: Double, status: (pid: Int, handlers: String?, connections: Int?)?, result: ChannelResult,
        through: [Int: UInt64]?, events: [String]
    ) {
        self.seconds = seconds
        pid = status?.pid
        rssKiB = status.flatMap { ProcStats.residentKiB(pid: Int32($0.pid)) }
        rssAnonKiB = status.flatMap { ProcStats.residentAnonymousKiB(pid: Int32($0.pid)) }
        fds = status.flatMap { ProcStats.openFiles(pid: Int32($0.pid)) }
        connections = status?.connections
        benchRSSKiB = ProcStats.residentKiB(pid: getpid())
        benchFDs = ProcStats.openFiles(pid: getpid())
        sent = result.messagesSent
        acked = result.messagesAcked
        delivered = result.deliveriesTotal
        lost =
            through.map {
                ReceiverView.lost(views: result.chatViews, through: $0, unacknowledged: result.chatUnacknowledged)
            } ?? 0
        duplicated = result.duplicated
        reordered = result.reordered
        drops = result.drops
        churns = result.churns
        reconnects = result.reconnects
        upgradeDiffs = result.upgradeDiffs
        self.events = events
    }

    static let header =
        "  minute  rss_kib  anon_kib   fds  conns  bench_kib     sent    acked  delivered  lost dup reord drops churn  events"

    var row: String {
        func cell(_ value: Int?, _ width: Int) -> String {
            let text = value.map(String.init) ?? "?"
            return String(repeating: " ", count: max(0, width - text.count)) + text
        }
        func cell(_ value: UInt64, _ width: Int) -> String { cell(Int(value), width) }
        let minute = String(format: "%8.2f", seconds / 60)
        return minute + cell(rssKiB, 9) + cell(rssAnonKiB, 10) + cell(fds, 6) + cell(connections, 7) + cell(benchRSSKiB, 11)
            + cell(sent, 9) + cell(acked, 9) + cell(delivered, 11) + cell(lost, 6) + cell(duplicated, 4)
            + cell(reordered, 6) + cell(drops, 6) + cell(churns, 6) + "  " + events.joined(separator: "; ")
    }
}
