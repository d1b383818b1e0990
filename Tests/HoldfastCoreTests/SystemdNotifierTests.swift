import Glibc
@testable import HoldfastCore
import Synchronization
import Testing

/// The sd_notify datagrams, checked byte for byte on a real socket bound where `NOTIFY_SOCKET` points.
@Suite struct SystemdNotifierTests {
    @Test func withoutNotifySocketNothingIsSent() throws {
        for environment in [[:], ["NOTIFY_SOCKET": ""], ["NOTIFY_SOCKET": "relative/notify"], ["NOTIFY_SOCKET": "@"]] {
            let notifier = SystemdNotifier(environment: environment)
            #expect(!notifier.isEnabled)
            #expect(try notifier.notify("READY=1") == false)
            #expect(try notifier.notify(["STOPPING": "1"]) == false)
        }
    }

    @Test func pathSocketReceivesExactlyWhatWasSent() throws {
        let receiver = try NotifySocketReceiver(abstract: false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(notifier.isEnabled)
        #expect(try notifier.notify(["READY": "1", "MAINPID": "1234"]))
        #expect(receiver.receive() == "READY=1\nMAINPID=1234")
        try notifier.notify(["STATUS": "serving 12 connections = all good"])
        #expect(receiver.receive() == "STATUS=serving 12 connections = all good")
        try notifier.notify("STOPPING=1")
        #expect(receiver.receive() == "STOPPING=1")
        #expect(receiver.receiveNow() == nil)
    }

    @Test func abstractSocketReceivesExactlyWhatWasSent() throws {
        let receiver = try NotifySocketReceiver(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(notifier.isEnabled)
        try notifier.notify(["MAINPID": "\(getpid())", "READY": "1"])
        #expect(receiver.receive() == "MAINPID=\(getpid())\nREADY=1")
    }

    @Test func reloadingCarriesTheMonotonicTimeOfTheReload() throws {
        let receiver = try NotifySocketReceiver(abstract: false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        let before = SystemdNotifier.monotonicMicroseconds()
        try notifier.notify(["RELOADING": "1", "STATUS": "upgrading"])
        let after = SystemdNotifier.monotonicMicroseconds()
        let lines = try #require(receiver.receive()).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(Array(lines.prefix(2)) == ["RELOADING=1", "STATUS=upgrading"])
        let last = try #require(lines.last)
        #expect(last.hasPrefix("MONOTONIC_USEC="))
        let stamp = try #require(UInt64(last.dropFirst("MONOTONIC_USEC=".count)))
        #expect(before <= stamp && stamp <= after)

        // A caller's own timestamp is kept, not doubled.
        try notifier.notify("RELOADING=1\nMONOTONIC_USEC=42")
        #expect(receiver.receive() == "RELOADING=1\nMONOTONIC_USEC=42")
    }

    @Test func barrierWaitsUntilSystemdHasHandledTheMessages() throws {
        let receiver = try NotifySocketReceiver(abstract: false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        try notifier.notify(["MAINPID": "1234"])
        // The stand-in for systemd reads on a thread of its own, as systemd would, and closes the attached fd.
        // (A thread, not a Task: the barrier blocks its caller, and the test pool may have no other thread free.)
        let texts = Mutex<[String]>([])
        let finished = ThreadSemaphore()
        let box = ReceiverBox(receiver)
        startThread {
            while texts.withLock({ $0.count }) < 2, let (text, fds) = box.receiver.receiveWithFds() {
                texts.withLock { $0.append(text + " fds=\(fds.count)") }
                for fd in fds { close(fd) }
            }
            finished.signal()
        }
        #expect(try notifier.barrier(timeoutMilliseconds: 5000))
        finished.wait(timeoutMilliseconds: 5000)
        #expect(texts.withLock { $0 } == ["MAINPID=1234 fds=0", "BARRIER=1 fds=1"])
    }

    @Test func barrierTimesOutWhileTheMessageIsUnread() throws {
        let receiver = try NotifySocketReceiver(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(throws: SystemdNotifierError.barrierTimeout) {
            try notifier.barrier(timeoutMilliseconds: 100)
        }
        let (text, fds) = try #require(receiver.receiveWithFds())
        #expect(text == "BARRIER=1" && fds.count == 1)
        for fd in fds { close(fd) }
        #expect(try SystemdNotifier(environment: [:]).barrier() == false)
    }

    @Test func assignmentsThatWouldChangeTheMessageAreRefused() throws {
        let receiver = try NotifySocketReceiver(abstract: false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(throws: SystemdNotifierError.invalidAssignment(key: "STATUS", value: "a\nREADY=1")) {
            try notifier.notify(["STATUS": "a\nREADY=1"])
        }
        #expect(throws: SystemdNotifierError.invalidAssignment(key: "A=B", value: "1")) {
            try notifier.notify(["A=B": "1"])
        }
        #expect(throws: SystemdNotifierError.invalidAssignment(key: "", value: "1")) {
            try notifier.notify(["": "1"])
        }
        #expect(receiver.receiveNow() == nil)
    }

    @Test func aSocketThatIsGoneIsAnErrorNotACrash() throws {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent-holdfast-dir/notify"])
        #expect(throws: SystemdNotifierError.system(SystemError("connect", code: ENOENT))) {
            try notifier.notify("READY=1")
        }
        let long = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)])
        #expect(throws: SystemdNotifierError.socketPathTooLong("/" + String(repeating: "x", count: 200))) {
            try long.notify("READY=1")
        }
    }
}

/// Hands the receiver to the reading thread (it is used there alone until the test reads the results).
private struct ReceiverBox: @unchecked Sendable {
    let receiver: NotifySocketReceiver
    init(_ receiver: NotifySocketReceiver) { self.receiver = receiver }
}
