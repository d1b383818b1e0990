import Testing

@testable import HoldfastConfig

@Suite struct ConfigurationValidationTests {
    @Test func theDefaultsAgreeWithEachOther() throws {
        try Configuration().validate()
    }

    @Test func theShippedExampleAgrees() throws {
        try Configuration.load(path: ConfigurationTests.packageRoot + "/config/holdfast.toml", environment: [:])
            .validate()
    }

    @Test func aMessageLimitAboveTheOutputQueueLimitIsRefusedNamingBothKeys() throws {
        let configuration = try Configuration.load(
            path: nil, environment: ["HOLDFAST_WEBSOCKET_MAX_MESSAGE_SIZE": "16777216"])
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(
            error
                == .contradictoryLimits(
                    key: "websocket.max_message_size", value: 16 << 20, otherKey: "server.max_outbound_bytes",
                    otherValue: 4 << 20, strictlyBelow: false, consequence: Configuration.limitPairs[0].consequence))
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("websocket.max_message_size") && text.contains("server.max_outbound_bytes"))
        #expect(text.contains("16777216") && text.contains("4194304"))
    }

    @Test func aMessageLimitEqualToTheOutputQueueLimitIsAccepted() throws {
        let configuration = try Configuration.load(
            path: nil,
            environment: ["HOLDFAST_WEBSOCKET_MAX_MESSAGE_SIZE": "4194304", "HOLDFAST_MAX_OUTBOUND_BYTES": "4194304"])
        try configuration.validate()
    }

    @Test func aHighWaterMarkAtOrAboveTheOutputQueueLimitIsRefused() throws {
        for highWater in ["1048576", "2097152"] {
            let configuration = try Configuration.load(
                path: nil,
                environment: [
                    "HOLDFAST_MAX_OUTBOUND_BYTES": "1048576", "HOLDFAST_OUTBOUND_HIGH_WATER_BYTES": highWater,
                ])
            let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains("server.outbound_high_water_bytes"), "\(highWater)")
            #expect(text.contains("'server.max_outbound_bytes'"), "\(highWater)")
            #expect(text.contains("must be below"), "\(highWater)")
        }
    }

    @Test func aPhoenixPayloadLimitAboveTheMessageLimitIsRefused() throws {
        let configuration = try Configuration.load(
            path: nil, environment: ["HOLDFAST_WEBSOCKET_MAX_MESSAGE_SIZE": "1000"])
        let error = #expect(throws: ConfigurationError.self) { try configuration.validate() }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("'channels.max_payload_bytes' (65536)"))
        #expect(text.contains("'websocket.max_message_size' (1000)"))
    }

    @Test func everyPairNamesTwoKnownKeys() {
        let known = Set(ConfigurationKey.all.map(\.path))
        for pair in Configuration.limitPairs {
            #expect(known.contains(pair.key) && known.contains(pair.otherKey), "\(pair.key) \(pair.otherKey)")
        }
    }
}
