extension Configuration {
    /// Two limits that cannot both hold as configured: `key` must be at most (or, with `strictlyBelow`, below)
    /// `otherKey`.
    public struct LimitPair: Sendable {
        /// The key whose value must be the smaller one, `section.name`.
        public let key: String
        /// The key that bounds it.
        public let otherKey: String
        /// Whether equal values contradict each other too.
        public let strictlyBelow: Bool
        /// What goes wrong when the pair is inverted, for the error message.
        public let consequence: String
        let value: @Sendable (Configuration) -> Int
        let otherValue: @Sendable (Configuration) -> Int
    }

    /// Every pair of limits `holdfast serve` checks at start (docs/operations.md explains each).
    public static let limitPairs: [LimitPair] = [
        LimitPair(
            key: "websocket.max_message_size", otherKey: "server.max_outbound_bytes", strictlyBelow: false,
            consequence: "a message over the output queue limit, echoed or broadcast, would leave its receivers "
                + "over the slow-consumer limit as soon as anything queues behind it",
            value: { $0.websocket.maxMessageBytes }, otherValue: { $0.server.maxOutboundBytes }),
        LimitPair(
            key: "server.outbound_high_water_bytes", otherKey: "server.max_outbound_bytes", strictlyBelow: true,
            consequence: "a connection would be dropped as a slow consumer before the server ever stops reading "
                + "from it",
            value: { $0.server.outboundHighWaterBytes }, otherValue: { $0.server.maxOutboundBytes }),
        LimitPair(
            key: "channels.max_payload_bytes", otherKey: "websocket.max_message_size", strictlyBelow: false,
            consequence: "a Phoenix frame over the message limit would close the whole socket (1009) instead of "
                + "getting the Phoenix error reply the payload limit exists for",
            value: { $0.channels.maxPayloadBytes }, otherValue: { $0.websocket.maxMessageBytes }),
        LimitPair(
            key: "upgrade.ready_timeout_ms", otherKey: "upgrade.step_timeout_ms", strictlyBelow: true,
            consequence: "the upgrade watchdog would abandon the wait for READY before its own timeout ends it",
            value: { $0.upgrade.readyTimeoutMilliseconds }, otherValue: { $0.upgrade.stepTimeoutMilliseconds }),
        LimitPair(
            key: "upgrade.done_timeout_ms", otherKey: "upgrade.step_timeout_ms", strictlyBelow: true,
            consequence: "the upgrade watchdog would abandon a staging round or the wait for DONE before its own "
                + "timeout ends it",
            value: { $0.upgrade.doneTimeoutMilliseconds }, otherValue: { $0.upgrade.stepTimeoutMilliseconds }),
    ]

    /// Checks that the limits agree with each other; `holdfast serve` runs this after loading, so a configuration
    /// whose limits contradict each other is refused at start instead of failing connections later.
    public func validate() throws(ConfigurationError) {
        if webhooks.isEnabled && webhooks.secret.utf8.count < 16 {
            throw .invalidValue(
                key: "webhooks.secret", value: webhooks.secret.isEmpty ? "" : "(too short)",
                expected: "a secret of 16 bytes or more whenever webhooks.url is set (it signs every delivery)",
                source: "the configuration")
        }
        for pair in Self.limitPairs {
            let value = pair.value(self)
            let other = pair.otherValue(self)
            if pair.strictlyBelow ? value >= other : value > other {
                throw .contradictoryLimits(
                    key: pair.key, value: value, otherKey: pair.otherKey, otherValue: other,
                    strictlyBelow: pair.strictlyBelow, consequence: pair.consequence)
            }
        }
    }
}
