import Foundation

/// What the soak's coordinator does when: samples, and upgrades with churn held off just before each.
struct SoakSchedule {
    enum Action: Equatable {
        case sample
        /// Stop churning before an upgrade, so that any presence_diff during it is a flap.
        case quiet
        case swap
        case upgrade
    }

    /// Seconds from the start of traffic, in order. A sample comes first among actions at the same time: a
    /// baseline sample at the time of an upgrade reads the process that has been serving, not one started a
    /// moment ago.
    private(set) var actions: [(at: Double, action: Action)] = []

    /// Samples every `sampleEvery` seconds from 0 to `duration` (and at `duration`); handler swaps at every
    /// multiple of `swapEvery`, binary upgrades half a period after every multiple of `upgradeEvery` (so the two
    /// kinds never coincide when their periods match); churn stops `quiet` seconds before each. Upgrades later
    /// than `duration - quiet` are left out: their answer would land in the drain. A period of 0 turns its kind off.
    init(duration: Double, sampleEvery: Double, swapEvery: Double, upgradeEvery: Double, quiet: Double) {
        var actions: [(Double, Action)] = []
        var time = 0.0
        while time < duration {
            actions.append((time, .sample))
            time += sampleEvery
        }
        actions.append((duration, .sample))
        func plan(_ action: Action, every period: Double, offset: Double) {
            guard period > 0 else { return }
            var at = period * offset
            while at < duration - quiet {
                actions.append((max(0, at - quiet), .quiet))
                actions.append((at, action))
                at += period
            }
        }
        plan(.swap, every: swapEvery, offset: 1)
        plan(.upgrade, every: upgradeEvery, offset: 0.5)
        func rank(_ action: Action) -> Int { action == .sample ? 0 : 1 }
        self.actions = actions.sorted { ($0.0, rank($0.1)) < ($1.0, rank($1.1)) }.map { (at: $0.0, action: $0.1) }
    }

    var swaps: Int { actions.count { $0.action == .swap } }
    var upgrades: Int { actions.count { $0.action == .upgrade } }
}

/// One swap, rollback or binary upgrade of a soak, as the report lists it.
struct SoakEvent: Codable {
    /// Seconds from the start of traffic to the request.
    var seconds: Double
    /// `handlers`, `rollback` or `binary`.
    var kind: String
    var target: String
    /// The HTTP status (0: no answer), and the refusal's reason if any.
    var status: Int
    var error: String?
    var check: String?
    /// Request to answer as the bench saw it, and the pause the server reported.
    var milliseconds: Double
    var serverPauseMilliseconds: Double?
    var pidAfter: Int?
    var handlersAfter: String?

    enum CodingKeys: String, CodingKey {
        case seconds, kind, target, status, error, check, milliseconds
        case serverPauseMilliseconds = "server_pause_ms"
        case pidAfter = "pid_after"
        case handlersAfter = "handlers_after"
    }

    init(_ attempt: UpgradeAttempt, start: UInt64) {
        seconds = Double(attempt.requestedAt > start ? attempt.requestedAt - start : 0) / 1e9
        kind = attempt.step.kind
        target = attempt.step.path
        status = attempt.status
        error = attempt.error
        check = attempt.check
        milliseconds = Double(attempt.answeredAt - attempt.requestedAt) / 1e6
        serverPauseMilliseconds = attempt.serverPauseMilliseconds
        pidAfter = attempt.pidAfter
        handlersAfter = attempt.handlersAfter
    }

    /// A few words for the sample table: `binary 200 (pause 31.2 ms, pid 4711)`.
    var label: String {
        var text = "\(kind) \(status)"
        if let serverPauseMilliseconds {
            text += String(format: " (pause %.1f ms", serverPauseMilliseconds)
        } else {
            text += " ("
        }
        if kind == "binary", let pidAfter { text += ", pid \(pidAfter)" }
        if kind != "binary", let handlersAfter { text += ", handlers \(handlersAfter)" }
        if let check { text += ", \(check)" }
        return text + ")"
    }
}
