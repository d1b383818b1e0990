// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for Holdfast's parsers and codecs, one executable per parser. A package of its own so that
// the sanitizer flags (`-sanitize=fuzzer,address`) never reach the normal build: scripts/fuzz.sh builds it into
// .build-fuzz. See docs/fuzzing.md.
let holdfast = Target.Dependency.product(name: "HoldfastParsing", package: "Holdfast")

/// The main package's settings: Swift 6 mode plus the upcoming features the house style asks for.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency] = [holdfast]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, swiftSettings: strictSettings)
}

let package = Package(
    name: "HoldfastFuzz",
    dependencies: [
        .package(name: "Holdfast", path: ".."),
        .package(path: "../Packages/HoldfastHandlerAPI"),
    ],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver for Swift.
        .target(name: "CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver", holdfast], swiftSettings: strictSettings),
        fuzzTarget("FuzzHTTP"),
        fuzzTarget("FuzzWebSocket"),
        fuzzTarget("FuzzDeflate"),
        fuzzTarget("FuzzPhoenix"),
        fuzzTarget("FuzzTLS"),
        fuzzTarget("FuzzHandoff"),
        fuzzTarget("FuzzHandlerState", [.product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI")]),
        fuzzTarget("FuzzConfig"),
    ],
    swiftLanguageModes: [.v6]
)
