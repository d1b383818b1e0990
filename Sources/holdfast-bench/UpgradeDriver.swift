import Foundation
import HoldfastCore

/// One upgrade to ask for: a handler plugin or a server binary, by absolute path.
struct UpgradeStep {
    /// `handlers` or `binary`, the key of the admin request's body.
    var kind: String
    var path: String

    /// `count` steps alternating between the kinds given (handlers first) and, within a kind, between its
    /// paths in order: `--handlers A --handlers B` gives A, B, A…; with `--binary X` as well, A, X, B, X, A…
    static func schedule(handlers: [String], binaries: [String], count: Int) -> [UpgradeStep] {
        let kinds = [("handlers", handlers), ("binary", binaries)].filter { !$0.1.isEmpty }
        guard !kinds.isEmpty else { return [] }
        return (0..<count).map { index in
            let (kind, paths) = kinds[index % kinds.count]
            return UpgradeStep(kind: kind, path: absolute(paths[(index / kinds.count) % paths.count]))
        }
    }

    /// The server resolves nothing relative to the bench's directory, so paths are made absolute here.
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// What one upgrade request got, with the monotonic times it was sent and answered.
struct UpgradeAttempt {
    var step: UpgradeStep
    /// In a rolling upgrade: the node (from 1, in `--admin-url` order) and the round (from 1) this attempt is.
    var node = 1
    var round = 1
    var requestedAt: UInt64
    var answeredAt: UInt64
    /// The HTTP status (0 when no answer came), and the answer's `error`, `check` and `pause_ms` if present.
    var status = 0
    var error: String?
    var check: String?
    var serverPauseMilliseconds: Double?
    /// The server's pid, handler version and resident memory according to `/admin/status` after the answer (a
    /// binary upgrade changes the pid).
    var pidAfter: Int?
    var handlersAfter: String?
    var rssKiBAfter: Int?
}

/// Sends upgrade requests to the admin listener and reads the server's status around them.
struct UpgradeDriver {
    let admin: AdminClient
    /// Seconds to wait for an upgrade's answer.
    let answerTimeout: Double

    /// `GET /admin/status`: the server's pid and current handler version (fails when the listener is not there
    /// or refuses the token, so a bad setup stops the run before any connection is opened).
    func status() throws(BenchError) -> (pid: Int?, handlers: String?) {
        let response = try admin.request("GET", "/admin/status", timeout: 10)
        guard response.status == 200 else {
            throw BenchError("GET /admin/status answered \(response.status): \(response.body.prefix(200))")
        }
        let object = UpgradeDriver.object(response.body)
        let handlers = object?["handlers"] as? [String: Any]
        return ((object?["pid"] as? NSNumber)?.intValue, handlers?["current"] as? String)
    }

    /// Asks for `step` and waits for the answer; a failure to get one is recorded, not thrown, so the run goes
    /// on to report what the connections saw.
    func perform(_ step: UpgradeStep) -> UpgradeAttempt {
        let body =
            (try? JSONSerialization.data(withJSONObject: [step.kind: step.path], options: [.withoutEscapingSlashes]))
            ?? Data()
        return post("/admin/upgrade", body: Array(body), step: step)
    }

    /// `POST /admin/rollback`: back to the previous handler version (recorded as a step of kind `rollback`).
    func rollback() -> UpgradeAttempt {
        post("/admin/rollback", body: [], step: UpgradeStep(kind: "rollback", path: ""))
    }

    private func post(_ path: String, body: [UInt8], step: UpgradeStep) -> UpgradeAttempt {
        let requestedAt = MonotonicClock.nowNanoseconds()
        var attempt = UpgradeAttempt(step: step, requestedAt: requestedAt, answeredAt: requestedAt)
        do {
            let response = try admin.request("POST", path, body: body, timeout: answerTimeout)
            attempt.answeredAt = MonotonicClock.nowNanoseconds()
            attempt.status = response.status
            let object = UpgradeDriver.object(response.body)
            attempt.error =
                object?["error"] as? String ?? (response.status == 200 ? nil : String(response.body.prefix(200)))
            attempt.check = object?["check"] as? String
            attempt.serverPauseMilliseconds = (object?["pause_ms"] as? NSNumber)?.doubleValue
        } catch {
            attempt.answeredAt = MonotonicClock.nowNanoseconds()
            attempt.error = error.description
        }
        if let after = try? status() {
            attempt.pidAfter = after.pid
            attempt.handlersAfter = after.handlers
            attempt.rssKiBAfter = after.pid.flatMap { ProcStats.residentKiB(pid: Int32($0)) }
        }
        return attempt
    }

    /// `GET /admin/status` as the soak samples it: the serving pid, handler version and open connections (nil
    /// when the listener does not answer 200).
    func serverStatus() -> (pid: Int, handlers: String?, connections: Int?)? {
        guard let response = try? admin.request("GET", "/admin/status", timeout: 10), response.status == 200,
            let object = UpgradeDriver.object(response.body), let pid = (object["pid"] as? NSNumber)?.intValue
        else { return nil }
        let handlers = object["handlers"] as? [String: Any]
        return (pid, handlers?["current"] as? String, (object["connections"] as? NSNumber)?.intValue)
    }

    private static func object(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }
}
