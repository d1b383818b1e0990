import Glibc
import HoldfastCore
import Testing

@testable import HoldfastServer

@Suite struct ConfigurationTests {
    /// The package root, found from this file's path.
    static var packageRoot: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    @Test func embeddedDefaultsMatchTheDesign() {
        let configuration = Configuration()
        #expect(configuration.listen == SocketAddress(host: "127.0.0.1", port: 4000))
        #expect(configuration.adminListen == SocketAddress(host: "127.0.0.1", port: 4001))
        #expect(configuration.tlsListen.port == 4443)
        #expect(!configuration.tlsEnabled)
        #expect(configuration.stateDirectory == "./var/holdfast")
        #expect(configuration.eventLoops == 0)
        #expect(configuration.echoEndpoint)
    }

    @Test func shippedConfigFileDocumentsEveryKeyWithItsDefault() throws {
        let path = Self.packageRoot + "/config/holdfast.toml"
        let fromFile = try Configuration.load(path: path, environment: [:])
        let text = try String(decoding: #require(readAll(path)), as: UTF8.self)
        for key in ConfigurationKey.all {
            #expect(text.contains("\n\(key.name) = "), "config/holdfast.toml must document \(key.path)")
        }
        let defaults = Configuration()
        #expect(fromFile.listen == defaults.listen)
        #expect(fromFile.maxConnections == defaults.maxConnections)
        #expect(fromFile.maxMessageBytes == defaults.maxMessageBytes)
        #expect(fromFile.logLevel == defaults.logLevel)
    }

    @Test func environmentOverridesTheFile() throws {
        var configuration = Configuration()
        try configuration.apply(toml: "[server]\nlisten = \"127.0.0.1:5000\"\n", source: "test")
        try configuration.apply(environment: ["HOLDFAST_LISTEN": "127.0.0.1:6000", "HOLDFAST_TLS_CERT": "/c.pem"])
        #expect(configuration.listen.port == 6000)
        #expect(configuration.tlsCertificatePath == "/c.pem")
    }

    @Test func unknownKeysAreErrorsNamingTheKey() {
        var configuration = Configuration()
        #expect(throws: ConfigurationError.unknownKey("server.lisen", source: "test")) {
            try configuration.apply(toml: "[server]\nlisen = \"127.0.0.1:1\"\n", source: "test")
        }
    }

    @Test func invalidValuesSayWhatIsExpected() {
        var configuration = Configuration()
        do {
            try configuration.apply(environment: ["HOLDFAST_WEBSOCKET_DEFLATE_LEVEL": "11"])
            Issue.record("deflate level 11 must be refused")
        } catch {
            #expect(error.description.contains("websocket.deflate_level"))
            #expect(error.description.contains("0...9"))
        }
    }

    @Test func listsAreParsedFromTOMLArrays() throws {
        var configuration = Configuration()
        try configuration.apply(toml: "[server]\nallowed_origins = [\"https://a\", \"https://b\"]\n", source: "test")
        #expect(configuration.allowedOrigins == ["https://a", "https://b"])
    }

    @Test func malformedTOMLIsReported() {
        var configuration = Configuration()
        #expect(throws: ConfigurationError.self) {
            try configuration.apply(toml: "[server\nlisten = ", source: "test")
        }
    }

    private func readAll(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}
