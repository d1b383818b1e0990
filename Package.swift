// swift-tools-version:6.0
import PackageDescription

/// Settings every Holdfast target shares: Swift 6 mode plus the upcoming features the house style asks for.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// Release builds of the server skip the run-time exclusivity checks (debug builds and the tests keep them). A
/// connection's output state lives in class properties, and every access to one cost a `swift_beginAccess` call
/// through thread-local storage: about 730 of the 2,250 instructions a room broadcast spent per delivery. The event
/// loop (HoldfastCore) and the frame parser (HoldfastWebSocket) skip them too: about 125 instructions per echo.
let serverHotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "Holdfast",
    products: [
        .executable(name: "holdfast", targets: ["holdfast"]),
        // The default chat handlers as a plugin the server loads (and swaps) at run time: libChatHandlers.so.
        .library(name: "ChatHandlers", type: .dynamic, targets: ["ChatHandlers"]),
        // The parsers and codecs for the libFuzzer package in Fuzz/ (a path dependency sees only products).
        .library(
            name: "HoldfastParsing",
            targets: [
                "HoldfastBytes", "HoldfastJSON", "HoldfastHTTP", "HoldfastWebSocket", "HoldfastChannels",
                "HoldfastTLS", "HoldfastPresence", "HoldfastRooms", "HoldfastHandoff", "HoldfastConfig",
            ]
        ),
    ],
    dependencies: [
        // The plugin interface: its own package so that host and plugins share one dynamic library.
        .package(path: "Packages/HoldfastHandlerAPI"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // OpenSSL 3 (libssl + libcrypto) through pkg-config; Debian: libssl-dev.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // zlib for permessage-deflate (RFC 7692); Debian: zlib1g-dev.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // SQLite for durable chat history; Debian: libsqlite3-dev.
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // hiredis 0.14 for the cluster's Redis client (async API, adapter hooks); Debian: libhiredis-dev. No
        // pkg-config: its .pc adds -I/usr/include/hiredis, whose generic header names (read.h, async.h) could shadow
        // others; the shim includes <hiredis/...> instead.
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        // Small C shims for what Swift cannot import (epoll, eventfd, variadic fcntl, accept4, cmsg macros).
        .target(name: "CHoldfast"),
        // One varint/zigzag reader-writer and one Base64 for the package.
        .target(name: "HoldfastBytes", swiftSettings: strictSettings),
        // JSON values, parser and writer (Phoenix payloads, presence metas, admin answers).
        .target(name: "HoldfastJSON", swiftSettings: strictSettings),
        .target(
            name: "HoldfastCore",
            dependencies: ["CHoldfast"],
            swiftSettings: strictSettings + serverHotPathSettings
        ),
        .target(
            name: "HoldfastTLS",
            dependencies: ["COpenSSL"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HoldfastHTTP",
            swiftSettings: strictSettings
        ),
        .target(
            name: "HoldfastWebSocket",
            dependencies: ["HoldfastBytes", "HoldfastHTTP", "CZlib", "COpenSSL"],
            swiftSettings: strictSettings + serverHotPathSettings
        ),
        .target(
            name: "HoldfastChannels",
            dependencies: ["HoldfastJSON"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HoldfastPresence",
            dependencies: ["HoldfastBytes", "HoldfastJSON"],
            swiftSettings: strictSettings
        ),
        // A room as a pure value: RoomState.handle(event, now) -> [RoomAction]; the chat-handler contract.
        .target(
            name: "HoldfastRooms",
            dependencies: ["HoldfastJSON", "HoldfastChannels", "HoldfastPresence"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HoldfastHistory",
            dependencies: [
                "CSQLite", "CHoldfast", "HoldfastCore", "HoldfastRooms",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The Redis client of the cluster: hiredis driven by the event loop, reconnects, pub/sub, Streams.
        .target(
            name: "HoldfastRedis",
            dependencies: ["CHiredis", "HoldfastCore", "HoldfastConfig"],
            swiftSettings: strictSettings
        ),
        // Presence across nodes on Redis: node names, heartbeats and dead-node cleanup (NodeRegistry), each room's
        // Redis-held presence merged with the local one (ClusterPresence), as state machines with thin drivers.
        .target(
            name: "HoldfastClusterPresence",
            dependencies: [
                "HoldfastRedis", "HoldfastConfig", "HoldfastCore", "HoldfastJSON", "HoldfastPresence", "COpenSSL",
            ],
            swiftSettings: strictSettings
        ),
        // The cluster on Redis: the room bus (store script, delivery in Redis's order, Stream history), the
        // per-room link the server's rooms use, and the hooks presence plugs into.
        .target(
            name: "HoldfastCluster",
            dependencies: [
                "HoldfastRedis", "HoldfastRooms", "HoldfastChannels", "HoldfastJSON", "HoldfastCore", "HoldfastConfig",
                "HoldfastHistory", "HoldfastClusterPresence", "HoldfastAPI", "COpenSSL", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HoldfastAuth",
            dependencies: ["HoldfastBytes", "COpenSSL"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HoldfastActors",
            dependencies: ["HoldfastCore"],
            swiftSettings: strictSettings
        ),
        // The binary upgrade apart from its socket plumbing: the fd channel and its record streams, the records
        // and their codecs, and each side of the handoff protocol as a state machine.
        .target(
            name: "HoldfastHandoff",
            dependencies: [
                "CHoldfast", "HoldfastCore", "HoldfastBytes", "HoldfastJSON", "HoldfastWebSocket", "HoldfastChannels",
                "HoldfastPresence", "HoldfastRooms", "HoldfastAPI", "HoldfastHTTP",
            ],
            swiftSettings: strictSettings
        ),
        // What `holdfast serve` can be told: sections, defaults, the TOML file, HOLDFAST_* variables.
        .target(
            name: "HoldfastConfig",
            dependencies: [
                "HoldfastCore", "HoldfastHTTP", "HoldfastWebSocket", "HoldfastChannels",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strictSettings
        ),
        // The pages (demo chat, operations dashboard, files embedded from Assets/), /admin/stats and the metrics.
        .target(
            name: "HoldfastWeb",
            dependencies: [
                "HoldfastCore", "HoldfastHTTP", "HoldfastJSON", "HoldfastAuth", "COpenSSL",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [
                .embedInCode("Assets/demo.html"), .embedInCode("Assets/demo.css"), .embedInCode("Assets/demo.js"),
                .embedInCode("Assets/phoenix-client.js"), .embedInCode("Assets/presence.js"),
                .embedInCode("Assets/dom.js"), .embedInCode("Assets/dashboard.html"),
                .embedInCode("Assets/dashboard.css"), .embedInCode("Assets/dashboard.js"),
                .embedInCode("Assets/charts.js"), .embedInCode("Assets/favicon.svg"),
            ],
            swiftSettings: strictSettings
        ),
        // The server API for the application's backend: keys and scopes, rate limits, request parsing, and the
        // seam (APIBackend) the server implements.
        .target(
            name: "HoldfastAPI",
            dependencies: ["HoldfastHTTP", "HoldfastJSON", "HoldfastConfig", "HoldfastRooms"],
            swiftSettings: strictSettings
        ),
        // Webhooks: batching, signing, the on-disk queue and delivery.
        .target(
            name: "HoldfastWebhooks",
            dependencies: [
                "HoldfastJSON", "HoldfastCore", "HoldfastRooms", "HoldfastConfig", "COpenSSL",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HoldfastServer",
            dependencies: [
                "HoldfastAPI", "HoldfastWebhooks",
                "HoldfastBytes", "HoldfastJSON", "HoldfastConfig", "HoldfastCore", "HoldfastTLS", "HoldfastHTTP",
                "HoldfastWebSocket",
                "HoldfastChannels", "HoldfastRooms",
                "HoldfastPresence", "HoldfastHistory", "HoldfastAuth", "HoldfastActors", "COpenSSL", "HoldfastUpgrade",
                "HoldfastHandoff", "HoldfastWeb", "HoldfastCluster",
                .product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings + serverHotPathSettings
        ),
        .target(
            name: "ChatHandlers",
            dependencies: [.product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "HoldfastUpgrade",
            dependencies: [
                "CHoldfast", "HoldfastCore", "HoldfastJSON", "HoldfastRooms",
                .product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "holdfast",
            dependencies: [
                "HoldfastServer", "HoldfastConfig", "HoldfastAuth", "HoldfastCore", "HoldfastUpgrade", "HoldfastWeb",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "holdfast-bench",
            dependencies: [
                "HoldfastBytes", "HoldfastCore", "HoldfastAuth", "HoldfastWebSocket", "COpenSSL", "CZlib",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strictSettings
        ),
        // Helpers shared by the test targets: a seeded random generator, a joinable thread, a loopback client.
        .target(
            name: "HoldfastTestSupport", dependencies: ["HoldfastCore"], path: "Tests/HoldfastTestSupport",
            swiftSettings: strictSettings),
        .testTarget(name: "HoldfastBytesTests", dependencies: ["HoldfastBytes"], swiftSettings: strictSettings),
        .testTarget(
            name: "HoldfastJSONTests", dependencies: ["HoldfastJSON", "HoldfastTestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "HoldfastConfigTests",
            dependencies: ["HoldfastConfig", "HoldfastCore", "HoldfastHTTP", "HoldfastWebSocket", "HoldfastChannels"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastCoreTests", dependencies: ["HoldfastCore", "HoldfastTestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "HoldfastTLSTests", dependencies: ["HoldfastTLS", "COpenSSL", "HoldfastTestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "HoldfastHTTPTests", dependencies: ["HoldfastHTTP", "HoldfastTestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "HoldfastWebSocketTests",
            dependencies: ["HoldfastWebSocket", "HoldfastBytes", "HoldfastHTTP", "CZlib", "HoldfastTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastChannelsTests", dependencies: ["HoldfastChannels", "HoldfastJSON", "HoldfastTestSupport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "HoldfastPresenceTests",
            dependencies: ["HoldfastPresence", "HoldfastBytes", "HoldfastJSON"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastRoomsTests",
            dependencies: ["HoldfastRooms", "HoldfastChannels", "HoldfastJSON", "HoldfastPresence"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastHistoryTests",
            dependencies: ["HoldfastHistory", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastRedisTests",
            dependencies: ["HoldfastRedis", "HoldfastConfig", "HoldfastCore", "HoldfastTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastClusterPresenceTests",
            dependencies: [
                "HoldfastClusterPresence", "HoldfastRedis", "HoldfastConfig", "HoldfastCore", "HoldfastJSON",
                "HoldfastPresence", "HoldfastTestSupport",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastClusterTests",
            dependencies: [
                "HoldfastCluster", "HoldfastRedis", "HoldfastRooms", "HoldfastConfig", "HoldfastCore", "HoldfastJSON",
                "HoldfastChannels", "HoldfastTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastAuthTests", dependencies: ["HoldfastAuth", "HoldfastBytes"], swiftSettings: strictSettings),
        .testTarget(
            name: "HoldfastActorsTests",
            dependencies: ["HoldfastActors", "HoldfastCore", "HoldfastTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastHandoffTests",
            dependencies: [
                "HoldfastHandoff", "HoldfastCore", "HoldfastBytes", "HoldfastJSON", "HoldfastWebSocket",
                "HoldfastChannels", "HoldfastPresence", "HoldfastRooms", "HoldfastTestSupport", "HoldfastAPI",
                "HoldfastHTTP",
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastAPITests",
            dependencies: ["HoldfastAPI", "HoldfastConfig", "HoldfastHTTP", "HoldfastJSON", "HoldfastRooms"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastWebhooksTests",
            dependencies: ["HoldfastWebhooks", "HoldfastJSON", "HoldfastRooms"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastWebTests",
            dependencies: ["HoldfastWeb", "HoldfastAuth", "HoldfastCore", "HoldfastHTTP", "HoldfastJSON"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "HoldfastServerTests",
            dependencies: [
                "HoldfastServer", "HoldfastWeb", "HoldfastBytes", "HoldfastJSON", "HoldfastHTTP", "HoldfastPresence",
                "HoldfastTestSupport",
            ],
            swiftSettings: strictSettings),
        // Loads libChatHandlers.so (built with the package) and plugins it builds itself; links no handlers.
        .testTarget(
            name: "HoldfastUpgradeTests",
            dependencies: [
                "HoldfastUpgrade", "HoldfastJSON",
                .product(name: "HoldfastHandlerAPI", package: "HoldfastHandlerAPI"),
            ],
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
