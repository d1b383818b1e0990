import Foundation

/// The soak's curve as a self-contained SVG: server RSS (left axis, MiB) and open files (right axis) per sample
/// over minutes, the bench's own RSS dashed, a vertical line for every swap (green) and binary upgrade (red),
/// and the growth baseline dotted.
struct SoakChart {
    let report: SoakReport

    init(_ report: SoakReport) {
        self.report = report
    }

    private let width = 760.0
    private let height = 380.0
    private let left = 70.0
    private let right = 70.0
    private let top = 50.0
    private let bottom = 50.0

    func write(to path: String) throws {
        try Data(svg.utf8).write(to: URL(fileURLWithPath: path))
    }

    var svg: String {
        let samples = report.samples
        let minutes = max(report.durationSeconds / 60, samples.last.map { $0.seconds / 60 } ?? 0, 1e-3)
        let rssValues = samples.compactMap(\.rssKiB) + samples.compactMap(\.benchRSSKiB)
        let rssTop = SoakChart.niceCeiling(Double(rssValues.max() ?? 1024) / 1024 * 1.1)
        let fdTop = SoakChart.niceCeiling(Double(samples.compactMap(\.fds).max() ?? 10) * 1.1)
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        func x(_ seconds: Double) -> Double { left + seconds / 60 / minutes * plotWidth }
        func y(_ value: Double, _ top: Double) -> Double { self.top + plotHeight * (1 - value / top) }
        func polyline(_ points: [(Double, Double)], color: String, dash: String = "") -> String {
            guard !points.isEmpty else { return "" }
            let coordinates = points.map { String(format: "%.1f,%.1f", $0.0, $0.1) }.joined(separator: " ")
            let dashing = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
            return
                "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashing) points=\"\(coordinates)\"/>\n"
        }

        var body = ""
        body +=
            "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"#fff\" stroke=\"#888\"/>\n"
        for tick in 0...4 {
            let fraction = Double(tick) / 4
            let tickY = top + plotHeight * (1 - fraction)
            body += line(left, tickY, left + plotWidth, tickY, color: "#e4e4e4")
            body += text(left - 6, tickY + 4, SoakChart.number(rssTop * fraction), anchor: "end", color: "#1f5fa8")
            body += text(
                left + plotWidth + 6, tickY + 4, SoakChart.number(fdTop * fraction), anchor: "start", color: "#c05a00")
            let minute = minutes * fraction
            body += text(left + plotWidth * fraction, top + plotHeight + 18, SoakChart.number(minute), anchor: "middle")
        }
        let baselineX = x(report.baselineSeconds)
        body += line(baselineX, top, baselineX, top + plotHeight, color: "#666", dash: "2,3")
        body += text(baselineX + 3, top + 12, "baseline", anchor: "start", color: "#666")
        for event in report.events {
            let color = event.kind == "binary" ? "#d62728" : "#2ca02c"
            let eventX = x(event.seconds)
            body += line(eventX, top, eventX, top + plotHeight, color: color, dash: "5,3")
            body += text(eventX, top - 4, event.kind == "binary" ? "U" : "S", anchor: "middle", color: color)
        }
        body += polyline(
            samples.compactMap { sample in sample.rssKiB.map { (x(sample.seconds), y(Double($0) / 1024, rssTop)) } },
            color: "#1f5fa8")
        body += polyline(
            samples.compactMap { sample in sample.benchRSSKiB.map { (x(sample.seconds), y(Double($0) / 1024, rssTop)) }
            },
            color: "#7fa7d6", dash: "6,4")
        body += polyline(
            samples.compactMap { sample in sample.fds.map { (x(sample.seconds), y(Double($0), fdTop)) } },
            color: "#c05a00")

        let growth = report.rssGrowthPercent.map { String(format: "%.2f %%", $0) } ?? "?"
        let title =
            "holdfast-bench soak: \(report.joined) users, \(DurationArgument.text(report.durationSeconds)), "
            + "server RSS growth after the baseline \(growth), lost \(report.lost), duplicated \(report.duplicated), "
            + "reordered \(report.reordered), " + (report.passed ? "PASS" : "FAIL")
        body += text(width / 2, 22, title, anchor: "middle", size: 14)
        body += text(left - 50, top + plotHeight / 2, "RSS MiB", anchor: "middle", color: "#1f5fa8", rotate: true)
        body += text(width - 18, top + plotHeight / 2, "open files", anchor: "middle", color: "#c05a00", rotate: true)
        body += text(left + plotWidth / 2, height - 12, "minutes", anchor: "middle")
        let legendY = height - 12
        body += line(left, legendY - 4, left + 20, legendY - 4, color: "#1f5fa8")
        body += text(left + 24, legendY, "server RSS", anchor: "start")
        body += line(left + 100, legendY - 4, left + 120, legendY - 4, color: "#7fa7d6", dash: "6,4")
        body += text(left + 124, legendY, "bench RSS", anchor: "start")
        body += line(left + plotWidth - 250, legendY - 4, left + plotWidth - 230, legendY - 4, color: "#c05a00")
        body += text(left + plotWidth - 226, legendY, "server fds", anchor: "start")
        body += text(left + plotWidth - 150, legendY, "S swap", anchor: "start", color: "#2ca02c")
        body += text(left + plotWidth - 95, legendY, "U upgrade", anchor: "start", color: "#d62728")
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="#fafafa"/>
            \(body)</svg>

            """
    }

    private func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String, dash: String = "")
        -> String
    {
        let dashing = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
        return String(
            format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\"%@/>\n", x1, y1, x2, y2, color,
            dashing)
    }

    private func text(
        _ x: Double, _ y: Double, _ content: String, anchor: String, color: String = "#222", size: Int = 11,
        rotate: Bool = false
    ) -> String {
        let escaped = content.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        let turn = rotate ? String(format: " transform=\"rotate(-90 %.1f %.1f)\"", x, y) : ""
        return String(
            format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%@\" fill=\"%@\" font-size=\"%d\"%@>", x, y, anchor,
            color, size, turn)
            + escaped + "</text>\n"
    }

    /// The smallest of 1, 2, 2.5, 5 × 10^k at or above `value`, so the axis ticks are round numbers.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1, 2, 2.5, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// An axis label: whole numbers without decimals.
    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
