import Glibc
import HoldfastCore
import TOMLKit

extension Configuration {
    /// Loads the configuration: defaults, then the TOML file at `path` (if given), then `HOLDFAST_*` variables
    /// from `environment`. Flags are applied by the caller afterwards.
    public static func load(
        path: String?,
        environment: [String: String]
    ) throws(ConfigurationError) -> Configuration {
        var configuration = Configuration()
        if let path {
            let text = try readFile(path)
            try configuration.apply(toml: text, source: path)
        }
        try configuration.apply(environment: environment)
        return configuration
    }

    /// Applies every key present in a TOML document. Unknown sections or keys are errors, so a typo never
    /// silently leaves a default in force.
    public mutating func apply(toml text: String, source: String) throws(ConfigurationError) {
        if let finding = TOMLPrecheck.firstFinding(in: text) {
            throw .invalidTOML(path: source, reason: "line \(finding.line): \(finding.reason)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch {
            throw .invalidTOML(path: source, reason: "\(error)")
        }
        for section in table.keys {
            guard let sectionTable = table[section]?.table else {
                throw .unknownKey(section, source: source)
            }
            for name in sectionTable.keys {
                guard let key = ConfigurationKey.all.first(where: { $0.section == section && $0.name == name }),
                    let value = sectionTable[name]
                else {
                    throw .unknownKey("\(section).\(name)", source: source)
                }
                try key.apply(Self.text(of: value), to: &self, source: source)
            }
        }
    }

    /// Applies the `HOLDFAST_*` variables that name a key.
    public mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        for key in ConfigurationKey.all {
            if let value = environment[key.environmentVariable] {
                try key.apply(value, to: &self, source: "environment variable \(key.environmentVariable)")
            }
        }
    }

    private static func text(of value: any TOMLValueConvertible) -> String {
        if let string = value.string { return string }
        if let bool = value.bool { return bool ? "true" : "false" }
        if let int = value.int { return String(int) }
        if let array = value.array {
            return array.map { $0.string ?? $0.debugDescription }.joined(separator: ",")
        }
        return value.debugDescription
    }

    /// The text of the file at `path`.
    static func readFile(_ path: String) throws(ConfigurationError) -> String {
        guard let file = fopen(path, "rb") else {
            throw .unreadableFile(path: path, reason: SystemError("fopen").reason)
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
