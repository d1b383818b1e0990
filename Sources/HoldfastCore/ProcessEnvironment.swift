import CHoldfast
import Glibc

/// The process's environment and executable, as the server needs them for configuration, systemd and upgrades.
public enum ProcessEnvironment {
    /// The environment as a dictionary.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries() {
            if let equals = entry.firstIndex(of: "=") {
                result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            }
        }
        return result
    }

    /// The environment as `NAME=value` entries, in order.
    public static func entries() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(decoding: UnsafeRawBufferPointer(start: entry, count: strlen(entry)), as: UTF8.self))
            pointer += 1
        }
        return result
    }

    /// The label compiled into this binary (`dev` unless release tooling relabelled it; see `holdfast_build_tag`).
    public static var buildTag: String {
        let marker = String(cString: holdfast_build_tag())
        guard let colon = marker.firstIndex(of: ":") else { return marker }
        var tag = marker[marker.index(after: colon)...]
        while tag.last == "." { tag = tag.dropLast() }
        return String(tag)
    }

    /// `name` in the directory of the running executable (just `name` if that cannot be read).
    public static func besideExecutable(_ name: String) -> String {
        guard let executable = executablePath() else { return name }
        let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(
            separator: "/")
        return directory + "/" + name
    }

    /// The absolute path of the running executable as the kernel sees it (`/proc/self/exe`).
    public static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The path this process was started as, made absolute but not resolved: when it is a `current` link of a
    /// release layout, a later upgrade looks it up again and so finds the newly installed release.
    public static func startupExecutable() -> String {
        let first = CommandLine.arguments.first ?? ""
        guard first.contains("/") else { return executablePath() ?? first }
        return absolutePath(first)
    }

    /// `path` made absolute against the working directory (not resolved: links stay links).
    public static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let directory = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return directory + "/" + path
    }
}
