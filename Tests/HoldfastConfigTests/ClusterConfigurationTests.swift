import HoldfastCore
import Testing

@testable import HoldfastConfig

@Suite struct ClusterConfigurationTests {
    @Test func anEmptyRedisURLMeansASingleNode() throws {
        let configuration = try Configuration.load(path: nil, environment: [:])
        #expect(!configuration.cluster.isEnabled)
        #expect(configuration.cluster.redis == nil)
        #expect(configuration.cluster.nodeTimeoutMilliseconds == 5_000)
        try configuration.validate()
    }

    @Test func readsTheClusterSectionFromTOML() throws {
        var configuration = Configuration()
        try configuration.apply(
            toml: """
                [cluster]
                redis_url = "redis://:secret@10.0.0.7:6380/2"
                node_name = "web-1"
                node_timeout_ms = 3000
                """, source: "test")
        #expect(configuration.cluster.isEnabled)
        #expect(configuration.cluster.redis == RedisURL(host: "10.0.0.7", port: 6380, database: 2, password: "secret"))
        #expect(configuration.clusterNodeName(hostName: "ignored") == "web-1")
        #expect(configuration.cluster.nodeTimeoutMilliseconds == 3_000)
    }

    @Test func theEnvironmentVariableOverridesTheFile() throws {
        var configuration = Configuration()
        try configuration.apply(toml: "[cluster]\nredis_url = \"redis://a:1\"\n", source: "test")
        try configuration.apply(environment: ["HOLDFAST_CLUSTER_REDIS_URL": "redis://b:2/1"])
        #expect(configuration.cluster.redis == RedisURL(host: "b", port: 2, database: 1))
        // ...and an empty variable switches clustering off again.
        try configuration.apply(environment: ["HOLDFAST_CLUSTER_REDIS_URL": ""])
        #expect(!configuration.cluster.isEnabled)
    }

    @Test func theNodeNameDefaultsToHostNameAndListenPort() throws {
        let configuration = try Configuration.load(path: nil, environment: ["HOLDFAST_LISTEN": "0.0.0.0:4100"])
        #expect(configuration.clusterNodeName(hostName: "web7") == "web7:4100")
        #expect(configuration.clusterNodeName().hasSuffix(":4100"))
        #expect(!Configuration.hostName().isEmpty)
    }

    @Test(arguments: ["has space", "slash/y", String(repeating: "n", count: 129), "tab\tname", "naïve"])
    func refusesNodeNamesThatCannotBePartOfARedisKey(name: String) {
        var configuration = Configuration()
        #expect(throws: ConfigurationError.self) {
            try configuration.apply(environment: ["HOLDFAST_CLUSTER_NODE_NAME": name])
        }
    }

    @Test func refusesTLSURLsAtStartWithTheReasonAndWithoutThePassword() {
        var configuration = Configuration()
        do {
            try configuration.apply(environment: ["HOLDFAST_CLUSTER_REDIS_URL": "rediss://:hunter2@redis.example:6380"])
            Issue.record("rediss:// must be refused while hiredis has no TLS")
        } catch {
            let text = "\(error)"
            #expect(text.contains("cluster.redis_url"))
            #expect(text.contains("hiredis 0.14 has no TLS"))
            #expect(text.contains("rediss://:***@redis.example:6380/0"))
            #expect(!text.contains("hunter2"))
        }
    }

    @Test(arguments: ["localhost:6379", "http://h", "redis://h:99999", "redis://h/x", "redis://pw@h"])
    func refusesMalformedRedisURLs(text: String) {
        var configuration = Configuration()
        #expect(throws: ConfigurationError.self) {
            try configuration.apply(toml: "[cluster]\nredis_url = \"\(text)\"\n", source: "test")
        }
    }

    @Test func hidesTheCredentialsOfAnUnparsableURL() {
        var configuration = Configuration()
        do {
            try configuration.apply(environment: ["HOLDFAST_CLUSTER_REDIS_URL": "redis://:hunter2@h:notaport"])
            Issue.record("a bad port must be refused")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }

    @Test(arguments: [("100", false), ("500", true), ("600000", true), ("600001", false), ("5s", false)])
    func boundsTheNodeTimeout(text: String, accepted: Bool) {
        var configuration = Configuration()
        let result = Result { () throws(ConfigurationError) in
            try configuration.apply(environment: ["HOLDFAST_CLUSTER_NODE_TIMEOUT_MS": text])
        }
        #expect(((try? result.get()) != nil) == accepted)
    }
}
