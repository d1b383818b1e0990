import ArgumentParser

/// A duration on the command line: seconds (`90`, `90s`, `1.5`), minutes (`10m`) or hours (`1h`).
struct DurationArgument: ExpressibleByArgument, Sendable {
    var seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
    }

    init?(argument: String) {
        let units: [(suffix: String, scale: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        let unit = units.first { argument.hasSuffix($0.suffix) && Double(argument.dropLast($0.suffix.count)) != nil }
        let number = unit.map { String(argument.dropLast($0.suffix.count)) } ?? argument
        guard let value = Double(number), value >= 0, value.isFinite else { return nil }
        seconds = value * (unit?.scale ?? 1)
    }

    var defaultValueDescription: String { DurationArgument.text(seconds) }

    /// `seconds` the way an operator writes it: `1h`, `10m`, `40s`, `2.5s`.
    static func text(_ seconds: Double) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(seconds)s"
    }
}
