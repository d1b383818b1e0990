import Foundation
@testable import HoldfastTLS
import Testing

@Test func missingCertificateFileIsReportedAsNotFound() {
    let path = TestCredentials.files.directory + "/does-not-exist.pem"
    #expect(throws: TLSConfigurationError.fileNotFound(.certificateChain, path: path)) {
        try TLSServerContext(certificateChainPath: path, privateKeyPath: TestCredentials.files.key)
    }
}

@Test func missingKeyFileIsReportedAsNotFound() {
    let path = TestCredentials.files.directory + "/no-key.pem"
    #expect(throws: TLSConfigurationError.fileNotFound(.privateKey, path: path)) {
        try TLSServerContext(certificateChainPath: TestCredentials.files.certificate, privateKeyPath: path)
    }
}

@Test func garbageCertificateIsReportedAsInvalidPEM() throws {
    let path = TestCredentials.files.directory + "/garbage-cert.pem"
    try Data("this is not a certificate\n".utf8).write(to: URL(fileURLWithPath: path))
    do {
        _ = try TLSServerContext(certificateChainPath: path, privateKeyPath: TestCredentials.files.key)
        Issue.record("garbage certificate was accepted")
    } catch {
        guard case .invalidPEM(.certificateChain, let reported, _) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(reported == path)
        #expect(error.description.contains(path))
    }
}

@Test func garbageKeyIsReportedAsInvalidPEM() throws {
    let path = TestCredentials.files.directory + "/garbage-key.pem"
    try Data("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8)
        .write(to: URL(fileURLWithPath: path))
    do {
        _ = try TLSServerContext(certificateChainPath: TestCredentials.files.certificate, privateKeyPath: path)
        Issue.record("garbage key was accepted")
    } catch {
        guard case .invalidPEM(.privateKey, let reported, _) = error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect(reported == path)
    }
}

@Test func keyThatDoesNotMatchTheCertificateIsRejected() {
    let files = TestCredentials.files
    #expect(throws: TLSConfigurationError.keyDoesNotMatchCertificate(
        certificatePath: files.certificate, keyPath: files.otherKey)
    ) {
        try TLSServerContext(certificateChainPath: files.certificate, privateKeyPath: files.otherKey)
    }
}

@Test func tls13OnlyContextRefusesATLS12Client() throws {
    let files = TestCredentials.files
    let context = try TLSServerContext(
        certificateChainPath: files.certificate, privateKeyPath: files.key, minimumVersion: .v1_3)
    let handshake = try TLSServerHandshake(context: context)
    let client = SuiteCase.tls12[0].makeClient()
    client.step()
    var output: [UInt8] = []
    let hello = client.takeOutput()
    let progress = hello.withUnsafeBytes { handshake.advance(input: $0, output: &output) }
    guard case .failed(.handshakeFailed, let consumed) = progress else {
        Issue.record("TLS 1.2 client was not refused: \(progress)")
        return
    }
    #expect(consumed == hello.count)
    #expect(!output.isEmpty, "OpenSSL's protocol_version alert")
}
