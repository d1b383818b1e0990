import HoldfastConfig
import HoldfastRedis
import HoldfastTestSupport
import Testing

@Suite struct RedisURLTests {
    @Test func parsesHostPortAndDatabase() throws {
        let url = try RedisURL(parsing: "redis://cache.internal:6380/3")
        #expect(url == RedisURL(host: "cache.internal", port: 6380, database: 3))
    }

    @Test func defaultsToPort6379AndDatabaseZero() throws {
        #expect(try RedisURL(parsing: "redis://10.0.0.5") == RedisURL(host: "10.0.0.5"))
        #expect(try RedisURL(parsing: "redis://10.0.0.5/") == RedisURL(host: "10.0.0.5"))
    }

    @Test func readsPasswordWithAndWithoutUser() throws {
        let legacy = try RedisURL(parsing: "redis://:s3cret@localhost:6379/0")
        #expect(legacy.username == nil && legacy.password == "s3cret")
        let acl = try RedisURL(parsing: "redis://holdfast:s3cret@localhost")
        #expect(acl.username == "holdfast" && acl.password == "s3cret")
    }

    @Test func percentDecodesCredentialsAndToleratesARawAtSign() throws {
        #expect(try RedisURL(parsing: "redis://:p%40ss%3Aw%2Fd@h").password == "p@ss:w/d")
        #expect(try RedisURL(parsing: "redis://:p@ss@h:1").password == "p@ss")
    }

    @Test func parsesBracketedIPv6() throws {
        let url = try RedisURL(parsing: "redis://[::1]:7000/2")
        #expect(url.host == "::1" && url.port == 7000 && url.database == 2)
        #expect(url.description == "redis://[::1]:7000/2")
    }

    @Test func keepsTheTLSSchemeForValidationToRefuse() throws {
        #expect(try RedisURL(parsing: "REDISS://h:6380").scheme == .rediss)
    }

    @Test func redactsThePasswordInItsDescription() throws {
        let url = try RedisURL(parsing: "redis://user:hunter2@h:1/4")
        #expect(url.description == "redis://user:***@h:1/4")
        #expect(!url.description.contains("hunter2"))
    }

    @Test(arguments: [
        ("localhost:6379", RedisURLError.missingScheme),
        ("http://h", .unsupportedScheme("http")),
        ("unix:///tmp/redis.sock", .unsupportedScheme("unix")),
        ("redis://", .missingHost),
        ("redis://:6379", .missingHost),
        ("redis://h:0", .invalidPort("0")),
        ("redis://h:65536", .invalidPort("65536")),
        ("redis://h:port", .invalidPort("port")),
        ("redis://h/db", .invalidDatabase("db")),
        ("redis://h/-1", .invalidDatabase("-1")),
        ("redis://h?timeout=1", .unsupportedQuery),
        ("redis://secret@h", .userWithoutPassword),
        ("redis://:%zz@h", .invalidEscape),
        ("redis://:%4@h", .invalidEscape),
        ("redis://[::1", .missingHost),
    ])
    func rejectsMalformedURLs(text: String, expected: RedisURLError) {
        #expect(throws: expected) { try RedisURL(parsing: text) }
    }
}
