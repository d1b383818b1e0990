import Histogram
import HoldfastCore
import Synchronization

/// Echo traffic, measurement and shutdown of one loop's connections (loop thread only).
extension LoopClient {
    /// Arms this loop's traffic for `window`: sending starts at `warmupStart` and stops at `measureEnd`.
    func begin(_ window: Window) {
        self.window = window
        let seconds = (window.measureEnd - window.measureStart + 999_999_999) / 1_000_000_000
        result.perSecond = Array(repeating: 0, count: Int(seconds))
        loop.schedule(afterMilliseconds: delay(until: window.warmupStart)) { [self] in startTraffic() }
    }

    private func startTraffic() {
        guard let traffic else { return }
        if traffic.rate != nil {
            tick()
            return
        }
        // Closed loop: fill each connection's pipeline; every answer then sends the next message.
        let now = MonotonicClock.nowNanoseconds()
        for connection in open {
            for _ in 0..<traffic.pipeline { send(on: connection, timestamp: now, traffic: traffic) }
        }
    }

    /// Open loop: sends every message whose scheduled time has come, stamped with that scheduled time, so a
    /// stalled server shows up as latency instead of silently lowering the offered rate (coordinated omission).
    private func tick() {
        guard let traffic, let rate = traffic.rate, let window, !open.isEmpty, rate > 0 else { return }
        let interval = 1e9 / rate
        let now = MonotonicClock.nowNanoseconds()
        var due = window.warmupStart + UInt64(Double(sequence) * interval)
        while due <= now, due < window.measureEnd {
            send(on: open[sequence % open.count], timestamp: due, traffic: traffic)
            sequence += 1
            due = window.warmupStart + UInt64(Double(sequence) * interval)
        }
        guard due < window.measureEnd else { return }
        // At least a millisecond between ticks (the timer resolution): messages due meanwhile go out together.
        loop.schedule(afterMilliseconds: max(1, delay(until: due))) { [self] in tick() }
    }

    private func send(on connection: ClientConnection, timestamp: UInt64, traffic: Traffic) {
        if connection.sendEcho(size: traffic.size, text: traffic.text, timestamp: timestamp, maskKey: nextMaskKey()) {
            result.messagesSent += 1
        }
    }

    /// Checks an echo, records its latency when it lands inside the window, and (closed loop) sends the next.
    func messageReceived(_ connection: ClientConnection, binary: Bool, length: Int, prefix: FrameReader.Prefix) {
        guard let traffic, let window else { return }
        connection.inFlight -= 1
        let now = MonotonicClock.nowNanoseconds()
        if binary == traffic.text || length != traffic.size {
            result.badEchoes += 1
            result.noteError("echo of a different kind or length than sent")
        } else if let stamp = EchoPayload.timestamp(from: prefix, text: traffic.text), stamp <= now {
            if now >= window.measureStart, now < window.measureEnd {
                _ = histogram.record(min(now - stamp, RunResult.maximumLatency))
                result.messagesMeasured += 1
                let second = Int((now - window.measureStart) / 1_000_000_000)
                if second < result.perSecond.count { result.perSecond[second] += 1 }
            }
        } else {
            result.badEchoes += 1
            result.noteError("echo carries a timestamp that was never sent")
        }
        if traffic.rate == nil, now < window.measureEnd {
            send(on: connection, timestamp: now, traffic: traffic)
        }
    }

    /// Starts the closing handshake on every connection and drops those still open after `timeout`.
    func closeAll(timeoutMilliseconds: Int64) {
        for connection in connections { connection.close() }
        loop.schedule(afterMilliseconds: timeoutMilliseconds) { [self] in
            for connection in connections { connection.terminate() }
        }
        publishProgress()
    }

    /// Publishes a copy of this loop's result for the coordinator.
    func publishResult() {
        var snapshot = result
        snapshot.latency = RunResult.buckets(of: histogram)
        progress.withLock { $0.result = snapshot }
    }

    /// Milliseconds from now until the monotonic time `nanoseconds` (0 when it has passed), rounded up.
    private func delay(until nanoseconds: UInt64) -> Int64 {
        let now = MonotonicClock.nowNanoseconds()
        guard nanoseconds > now else { return 0 }
        return Int64((nanoseconds - now + 999_999) / 1_000_000)
    }
}
