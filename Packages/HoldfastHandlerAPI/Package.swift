// swift-tools-version:6.0
import PackageDescription

// The interface between the Holdfast host and its chat handler plugins.
//
// It must stay a package of its own with a `.dynamic` product: a target of the root package would be linked
// statically into both the host and every plugin, leaving two copies of each protocol descriptor, and the
// host's `as? any ChatHandlerFactory` would fail. Built with library evolution so that additive changes
// (new requirements with default implementations) stay binary compatible with older plugins.
let package = Package(
    name: "HoldfastHandlerAPI",
    products: [
        .library(name: "HoldfastHandlerAPI", type: .dynamic, targets: ["HoldfastHandlerAPI"]),
        // A fake room for a plugin's own tests (`swift test`): it drives a channel handler as a room does and records
        // what it did. Not loaded by the server.
        .library(name: "HandlerTesting", targets: ["HandlerTesting"]),
    ],
    targets: [
        .target(
            name: "HoldfastHandlerAPI",
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
                .enableUpcomingFeature("InternalImportsByDefault"),
                .unsafeFlags(["-enable-library-evolution"]),
            ],
            linkerSettings: [
                // SwiftPM sets no SONAME; pin it so every plugin's NEEDED entry names the host's copy.
                .unsafeFlags(["-Xlinker", "-soname=libHoldfastHandlerAPI.so"]),
            ]
        ),
        .target(
            name: "HandlerTesting",
            dependencies: ["HoldfastHandlerAPI"],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
                .enableUpcomingFeature("InternalImportsByDefault"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
