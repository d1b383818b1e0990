// swift-tools-version:6.0
import PackageDescription

// Holdfast chat handlers 2.0.0: an out-of-tree plugin to upgrade a running server to. It builds
// libChatHandlers.so against the same HoldfastHandlerAPI package the server uses (in production:
// `.package(url: …, exact: …)` of the server's release).
let package = Package(
    name: "ChatHandlersV2",
    products: [
        .library(name: "ChatHandlers", type: .dynamic, targets: ["ChatHandlers"]),
    ],
    dependencies: [
        .package(path: "../../Packages/HoldfastHandlerAPI"),
    ],
    targets: [
        .target(
            name: "ChatHandlers",
            dependencies: [.product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI")],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
                .enableUpcomingFeature("InternalImportsByDefault"),
            ]
        ),
        // `swift test`: the handlers in HandlerTesting's fake room, no server.
        .testTarget(
            name: "ChatHandlersTests",
            dependencies: [
                "ChatHandlers",
                .product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI"),
                .product(name: "HandlerTesting", package: "HoldfastHandlerAPI"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
