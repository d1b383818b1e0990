// swift-tools-version:6.0
import PackageDescription

// The SwiftNIO peer for Holdfast's side-by-side benchmarks: a minimal WebSocket echo and
// broadcast server on Hummingbird 2. Its own package, so that building Holdfast never
// resolves or builds Hummingbird; benchmarks/compare-peers.sh builds it when it runs.
let package = Package(
    name: "HummingbirdPeer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hummingbird-peer", targets: ["hummingbird-peer"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        // Already a dependency of Hummingbird; named here because the server sets its own log level.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "hummingbird-peer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
