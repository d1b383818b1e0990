import Foundation
@testable import HoldfastTLS

/// A throwaway self-signed P-256 certificate and key made with the `openssl` command, once per test run.
enum TestCredentials {
    struct Files: Sendable {
        let directory: String
        let certificate: String
        let key: String
        let otherKey: String
    }

    static let files: Files = {
        let directory = NSTemporaryDirectory() + "holdfast-tls-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = directory + "/cert.pem"
        let key = directory + "/key.pem"
        let otherKey = directory + "/other-key.pem"
        run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-keyout", key, "-out", certificate])
        run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", otherKey])
        return Files(directory: directory, certificate: certificate, key: key, otherKey: otherKey)
    }()

    static let context: TLSServerContext = {
        do {
            return try TLSServerContext(certificateChainPath: files.certificate, privateKeyPath: files.key)
        } catch {
            fatalError("test context: \(error)")
        }
    }()

    private static func run(_ arguments: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            fatalError("cannot run openssl: \(error)")
        }
        process.waitUntilExit()
    }
}
