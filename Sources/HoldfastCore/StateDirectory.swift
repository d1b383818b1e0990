import Glibc

/// The state directory (history database, secret, later the handoff socket).
public enum StateDirectory {
    /// Creates the directory and its parents (0700) if missing.
    public static func prepare(_ path: String) throws(StateDirectoryError) {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") where component != "." {
            built += "/" + component
            if mkdir(built, 0o700) != 0 && errno != EEXIST {
                throw StateDirectoryError(path: built, code: errno)
            }
        }
    }
}

/// The state directory cannot be created.
public struct StateDirectoryError: Error, CustomStringConvertible {
    public let path: String
    public let code: Int32
    public var description: String {
        "cannot create state directory \(path): \(SystemError("mkdir", code: code).reason); "
            + "set server.state_dir (or HOLDFAST_STATE_DIR) to a writable directory"
    }
}

/// A prefix for presence phx_refs that differs in every process start, so refs never repeat across restarts.
public enum PresenceRefPrefix {
    /// A new prefix.
    public static func make() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let value = UInt64(spec.tv_sec) &* 1_000_003 ^ UInt64(spec.tv_nsec) ^ UInt64(getpid()) << 40
        return String(value, radix: 36) + "."  // the dot keeps prefixes of any length from colliding
    }
}
