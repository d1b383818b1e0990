import FuzzSupport
import HoldfastConfig

/// Input: a configuration file's bytes (decoded as UTF-8 with replacement, as the loader reads files).
@main
enum FuzzConfig {
    static func main() {
        FuzzDriver.run { input in
            var configuration = Configuration()
            _ = try? configuration.apply(toml: String(decoding: input, as: UTF8.self), source: "fuzz.toml")
        }
    }
}
