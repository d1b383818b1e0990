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
    /// A new prefix: at most ``maxLength`` characters.
    public static func make() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let value = UInt64(spec.tv_sec) &* 1_000_003 ^ UInt64(spec.tv_nsec) ^ UInt64(getpid()) << 40
        return String(mixed(value) >> 16, radix: 36) + "."  // the dot keeps prefixes of any length from colliding
    }

    /// The longest prefix ``make()`` returns: 48 bits in base 36 and the dot. With up to 4 counter digits a ref
    /// stays within 15 UTF-8 bytes, which a Swift string stores inline: every member of a room holds its ref
    /// in several places, and a longer one would cost each member a heap allocation.
    public static let maxLength = 11

    /// SplitMix64's finalizer: every input bit reaches the 48 bits kept.
    private static func mixed(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
