import HoldfastWeb
import Synchronization
import Testing

/// Accepts and closes are counted apart from their labelled counters and added to them at each exposition: every
/// scrape must show the totals counting each event at once showed.
struct ServerMetricsTests {
    static let plain = #"holdfast_connections_total{transport="plain"}"#
    static let tls = #"holdfast_connections_total{transport="tls"}"#

    static func closes(_ code: Int, _ initiator: String) -> String {
        #"holdfast_websocket_closes_total{code="\#(code)",initiator="\#(initiator)"}"#
    }

    static func exposition(_ metrics: ServerMetrics) -> String {
        let bytes = metrics.render(openConnections: 0, acceptedConnections: 0, rooms: 0, roomRestarts: 0)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value of `series` in `text`, nil when the series is absent.
    func value(_ text: String, _ series: String) -> Int? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Int($0.dropFirst(series.count + 1)) }
    }

    @Test func eachScrapeShowsTheTotalsAndALabelSetOnceItCounted() {
        let metrics = ServerMetrics()
        #expect(value(Self.exposition(metrics), Self.plain) == nil)
        for _ in 0..<3 { metrics.recordAccepted(tls: false) }
        metrics.recordAccepted(tls: true, admin: true)
        for (code, byPeer) in [(1000, true), (1000, true), (1015, false), (999, true), (4000, false), (1000, false)] {
            metrics.recordClose(code: UInt16(code), byPeer: byPeer)
        }
        var text = Self.exposition(metrics)
        #expect(value(text, Self.plain) == 3)
        #expect(value(text, Self.tls) == 1)
        #expect(value(text, Self.closes(1000, "client")) == 2)
        #expect(value(text, Self.closes(1000, "server")) == 1)
        #expect(value(text, Self.closes(1015, "server")) == 1)
        #expect(value(text, Self.closes(999, "client")) == 1)
        #expect(value(text, Self.closes(4000, "server")) == 1)
        #expect(value(text, Self.closes(1001, "client")) == nil)
        #expect(metrics.tlsConnections.load(ordering: .relaxed) == 1)
        #expect(metrics.adminConnections.load(ordering: .relaxed) == 1)

        text = Self.exposition(metrics)  // a second scrape adds nothing twice
        #expect(value(text, Self.plain) == 3)
        #expect(value(text, Self.closes(1000, "client")) == 2)

        metrics.recordAccepted(tls: false)
        metrics.recordClose(code: 1000, byPeer: true)
        metrics.recordClose(code: 4000, byPeer: false)
        text = Self.exposition(metrics)
        #expect(value(text, Self.plain) == 4)
        #expect(value(text, Self.tls) == 1)
        #expect(value(text, Self.closes(1000, "client")) == 3)
        #expect(value(text, Self.closes(4000, "server")) == 2)
    }

    @Test func countsFromManyThreadsAddUpWhileScrapesRun() async {
        let metrics = ServerMetrics()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for _ in 0..<2_000 {
                        metrics.recordAccepted(tls: worker == 0)
                        metrics.recordClose(code: worker == 1 ? 3000 : 1000, byPeer: true)
                    }
                }
            }
            group.addTask { for _ in 0..<50 { _ = Self.exposition(metrics) } }
        }
        let text = Self.exposition(metrics)
        #expect(value(text, Self.plain) == 6_000)
        #expect(value(text, Self.tls) == 2_000)
        #expect(value(text, Self.closes(1000, "client")) == 6_000)
        #expect(value(text, Self.closes(3000, "client")) == 2_000)
    }
}
