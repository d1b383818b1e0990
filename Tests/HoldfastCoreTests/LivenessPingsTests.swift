import Glibc
import HoldfastCore
import Synchronization
import Testing

@Suite struct LivenessPingsTests {
    @Test func thePeriodComesFromWatchdogUsecForThisProcessOnly() {
        #expect(LivenessPings.periodMilliseconds(environment: [:], pid: 42) == nil)
        #expect(LivenessPings.periodMilliseconds(environment: ["WATCHDOG_USEC": "30000000"], pid: 42) == 30_000)
        #expect(
            LivenessPings.periodMilliseconds(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"], pid: 42)
                == 30_000)
        // Meant for another process (the one systemd started, before a binary upgrade).
        #expect(
            LivenessPings.periodMilliseconds(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"], pid: 42)
                == nil)
        for bad in ["", "0", "-5", "soon", "1e6"] {
            #expect(LivenessPings.periodMilliseconds(environment: ["WATCHDOG_USEC": bad], pid: 42) == nil)
        }
    }

    @Test func withoutANotifySocketOrAWatchdogThereAreNoPings() throws {
        let group = try EventLoopGroup(count: 1)
        let receiver = try NotifySocketReceiver(abstract: false)
        let quiet = SystemdNotifier(environment: [:])
        #expect(
            LivenessPings(notifier: quiet, loops: group.loops, environment: ["WATCHDOG_USEC": "1000000"]) { _, _ in }
                == nil)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(LivenessPings(notifier: notifier, loops: group.loops, environment: [:]) { _, _ in } == nil)
    }

    @Test func pingsWhileEveryLoopAnswersAndWithholdsThemWhileOneIsStuck() throws {
        let group = try EventLoopGroup(count: 2)
        group.start()
        defer { group.stopAndJoin() }
        let receiver = try NotifySocketReceiver(abstract: false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        let missed = ThreadSemaphore()
        let pings = try #require(
            LivenessPings(notifier: notifier, loops: group.loops, environment: ["WATCHDOG_USEC": "200000"]) { _, _ in
                missed.signal()
            })
        #expect(pings.roundMilliseconds == 100)
        pings.start()
        defer { pings.stop() }
        #expect(receiver.receive() == "WATCHDOG=1")
        #expect(receiver.receive() == "WATCHDOG=1")
        // One loop stuck for a second: rounds go by without a ping.
        let release = ThreadSemaphore()
        group.loops[1].execute { release.wait(timeoutMilliseconds: 10_000) }
        #expect(missed.wait(timeoutMilliseconds: 10_000))
        while receiver.receiveNow() != nil {}
        #expect(missed.wait(timeoutMilliseconds: 10_000))
        #expect(receiver.receiveNow() == nil)
        release.signal()
        #expect(receiver.receive() == "WATCHDOG=1")
    }
}
