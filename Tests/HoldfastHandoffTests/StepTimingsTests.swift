import HoldfastCore
import HoldfastHandoff
import HoldfastJSON
import Testing

/// The old process times each step on the wall clock and on the process's CPU clock; the new process's rebuild
/// reads the CPU clock at the parts it does once. Real clocks: the checks hold on any machine, loaded or not.
@Suite struct StepTimingsTests {
    /// Burns about `nanoseconds` of this thread's CPU.
    static func spin(_ nanoseconds: UInt64) {
        let start = ProcessCPUClock.nowNanoseconds()
        var sink: UInt64 = 0
        while ProcessCPUClock.nowNanoseconds() - start < nanoseconds { sink &+= 1 }
        #expect(sink > 0)
    }

    @Test func aStepCarriesItsCPUTimeAndAStepOfTheOtherProcessOnlyItsWallTime() {
        var timings = StepTimings()
        let start = StepStart()
        Self.spin(2_000_000)
        timings.mark("export 3", since: start)
        timings.append("rebuild", milliseconds: 12.5)
        #expect(timings.steps.map(\.name) == ["export 3", "rebuild"])
        let export = timings.steps[0]
        #expect(export.cpu.map { $0 >= 2 } == true, "the spin's CPU time is counted")
        #expect(export.wall > 0)
        #expect(timings.steps[1].cpu == nil && timings.steps[1].wall == 12.5)
        #expect(timings.description.hasSuffix(",rebuild=12.5"))
        #expect(timings.description.hasPrefix("export 3="))
        #expect(!timings.cpuDescription.contains("rebuild") && timings.cpuDescription.hasPrefix("export 3="))
        guard case .object(let wall) = timings.wallJSON, case .object(let cpu) = timings.cpuJSON else {
            Issue.record("not objects")
            return
        }
        #expect(wall.map(\.key) == ["export 3", "rebuild"])
        #expect(cpu.map(\.key) == ["export 3"])
    }

    @Test func theRebuildReadsTheCPUClockAtThePartsDoneOnce() {
        var laps = RebuildLaps()
        for _ in 0..<3 {
            laps.lap(.read)
            laps.lap(.outputs)
        }
        Self.spin(1_000_000)
        laps.lap(.flush)
        laps.lap(.handlers)
        Self.spin(1_000_000)
        laps.lap(.rooms)
        #expect(laps.cpuMilliseconds(.flush) >= 1, "the records before the flush are charged to it")
        #expect(laps.cpuMilliseconds(.rooms) >= 1)
        #expect(laps.cpuMilliseconds(.outputs) == 0, "no CPU clock read per record")
        #expect(laps.cpuDescription.hasPrefix("records="))
        #expect(laps.cpuDescription.contains(",handlers=") && laps.cpuDescription.contains(",rooms="))
        #expect(!laps.cpuDescription.contains("listeners") && !laps.cpuDescription.contains("outputs"))
        let once = RebuildLaps.Part.allCases.filter(\.isOnce)
        #expect(once == [.flush, .handlers, .rooms, .listeners], "the rest is lapped per record")
    }
}
