import Glibc
public import HoldfastCore

/// Process-wide resource limits a handoff depends on.
public enum ProcessLimits {
    /// The current `RLIMIT_NOFILE` limits (`Int.max` stands for unlimited).
    public static func fileLimit() throws(SystemError) -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw SystemError("getrlimit") }
        return (convert(limit.rlim_cur), convert(limit.rlim_max))
    }

    /// Sets the soft `RLIMIT_NOFILE` (at most the hard limit), keeping the hard limit.
    public static func setSoftFileLimit(_ soft: Int) throws(SystemError) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw SystemError("getrlimit") }
        limit.rlim_cur = rlim_t(max(0, soft))
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw SystemError("setrlimit") }
    }

    /// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new soft limit (the unchanged one if
    /// raising failed).
    ///
    /// Both sides of a big handoff need it: the receiver, or the kernel silently drops the fds that do not fit
    /// and sets `MSG_CTRUNC`; and the sender, because fds in flight count against its limit. An unlimited hard
    /// limit is capped at `fs.nr_open`, the most the kernel accepts.
    @discardableResult
    public static func raiseFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        var target = limit.rlim_max
        if target == rlim_t.max { target = rlim_t(nrOpen()) }
        guard target > limit.rlim_cur else { return convert(limit.rlim_cur) }
        var raised = limit
        raised.rlim_cur = target
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 else { return convert(limit.rlim_cur) }
        return convert(target)
    }

    private static func convert(_ value: rlim_t) -> Int {
        value == rlim_t.max || value > rlim_t(Int.max) ? Int.max : Int(value)
    }

    /// `fs.nr_open`, the kernel's ceiling for `RLIMIT_NOFILE` (its default when unreadable).
    private static func nrOpen() -> Int {
        let fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 1 << 20 }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 32)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return 1 << 20 }
        let text = String(decoding: bytes[0..<count], as: UTF8.self)
        return Int(text.trimmingSpaces()) ?? 1 << 20
    }
}

extension String {
    fileprivate func trimmingSpaces() -> Substring {
        var view = self[...]
        while let last = view.last, last.isWhitespace { view = view.dropLast() }
        while let first = view.first, first.isWhitespace { view = view.dropFirst() }
        return view
    }
}
