/// How long a client waits before reconnecting a dropped socket or retrying a refused join: phoenix.js's steps
/// with jitter.
///
/// The steps are phoenix.js's defaults (`Socket` in `assets/js/phoenix/socket.js`):
/// `reconnectAfterMs = [10, 50, 100, 150, 200, 250, 500, 1000, 2000][tries - 1] || 5000` for the socket, and
/// `rejoinAfterMs = [1000, 2000, 5000][tries - 1] || 10000` for a channel whose join failed. `tries` counts the
/// attempts since the connection was last open (or the channel last joined), from 1.
///
/// phoenix.js waits exactly those times. When a server dies, every client notices in the same millisecond, so
/// exact steps send every reconnect of a step in one burst, and the bursts repeat for every step until the server
/// is back. Each wait here is drawn uniformly from [step / 2, 3 · step / 2] (±50 %): the mean stays phoenix.js's
/// step, and the reconnects of a step spread over a whole step's length instead of arriving together.
struct ReconnectBackoff {
    /// phoenix.js's socket reconnect steps in milliseconds, and the wait after the last one.
    static let reconnectSteps: [Int64] = [10, 50, 100, 150, 200, 250, 500, 1000, 2000]
    static let reconnectAfterLast: Int64 = 5000
    /// phoenix.js's channel rejoin steps in milliseconds, and the wait after the last one.
    static let rejoinSteps: [Int64] = [1000, 2000, 5000]
    static let rejoinAfterLast: Int64 = 10_000
    /// The jitter either side of a step, as a fraction of it.
    static let jitter = 0.5

    /// phoenix.js's socket reconnect wait for attempt `tries` (from 1), without jitter.
    static func reconnectStep(tries: Int) -> Int64 {
        tries >= 1 && tries <= reconnectSteps.count ? reconnectSteps[tries - 1] : reconnectAfterLast
    }

    /// phoenix.js's channel rejoin wait for attempt `tries` (from 1), without jitter.
    static func rejoinStep(tries: Int) -> Int64 {
        tries >= 1 && tries <= rejoinSteps.count ? rejoinSteps[tries - 1] : rejoinAfterLast
    }

    /// The wait in milliseconds before reconnect attempt `tries`, jittered.
    static func reconnectDelay(tries: Int, random: inout SplitMix) -> Int64 {
        jittered(reconnectStep(tries: tries), random: &random)
    }

    /// The wait in milliseconds before rejoin attempt `tries`, jittered.
    static func rejoinDelay(tries: Int, random: inout SplitMix) -> Int64 {
        jittered(rejoinStep(tries: tries), random: &random)
    }

    /// `step` scaled by a factor drawn uniformly from [1 - jitter, 1 + jitter], at least 1 ms.
    static func jittered(_ step: Int64, random: inout SplitMix) -> Int64 {
        // 53 random bits give a uniform double in [0, 1).
        let unit = Double(random.next() >> 11) / Double(1 << 53)
        let factor = 1 - jitter + 2 * jitter * unit
        return max(1, Int64((Double(step) * factor).rounded()))
    }
}
