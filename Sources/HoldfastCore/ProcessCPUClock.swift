import Glibc

/// The CPU time this process has used, every thread together (`CLOCK_PROCESS_CPUTIME_ID`): what a step cost the
/// machine, which a loaded machine does not stretch the way it stretches wall time. Each read is a system call
/// (no vDSO), so it times steps, not records.
public enum ProcessCPUClock {
    /// Nanoseconds of CPU time used so far.
    public static func nowNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}
