// swift-tools-version:6.0
import PackageDescription

// Holdfast moderation handlers: an out-of-tree channel handler plugin (handler API 2) with a word filter, `kick` by
// the moderators named in its settings, and slow mode. It builds libModerationHandlers.so against the
// HoldfastHandlerAPI package the server uses: here by path; elsewhere by the server's release, pinned with
// `.package(url: "<the Holdfast repository>", revision: "<the release's commit>")` (the interface package sets
// unsafe linker flags, which SwiftPM accepts from path, branch and revision dependencies only).
let package = Package(
    name: "ModerationHandlers",
    products: [
        .library(name: "ModerationHandlers", type: .dynamic, targets: ["ModerationHandlers"]),
    ],
    dependencies: [
        .package(path: "../../Packages/HoldfastHandlerAPI"),
    ],
    targets: [
        .target(
            name: "ModerationHandlers",
            dependencies: [.product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI")],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
                .enableUpcomingFeature("InternalImportsByDefault"),
            ]
        ),
        .testTarget(
            name: "ModerationHandlersTests",
            dependencies: [
                "ModerationHandlers",
                .product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI"),
                .product(name: "HandlerTesting", package: "HoldfastHandlerAPI"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
