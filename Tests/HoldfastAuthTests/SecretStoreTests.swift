import Foundation
import HoldfastAuth
import Testing

/// A fresh directory path under the system temporary directory (not created), removed by `remove()`.
struct StateDirectory {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("holdfast-auth-\(UUID().uuidString)").path
    var path: String { root + "/state" }
    var secretFile: String { path + "/secret_key" }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }

    func permissions(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}

@Suite struct SecretStoreTests {
    @Test func aGeneratedSecretIsStored0600AndReusedOnTheNextStart() throws {
        let state = StateDirectory()
        defer { state.remove() }
        let first = try SecretStore.loadOrCreate(configured: "", stateDirectory: state.path)
        #expect(first.count == 32)
        #expect(try state.permissions(state.secretFile) == 0o600)
        #expect(try state.permissions(state.path) == 0o700)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: state.secretFile))) == first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.path) == ["secret_key"])

        let second = try SecretStore.loadOrCreate(configured: "", stateDirectory: state.path)
        #expect(second == first)
        let elsewhere = StateDirectory()
        defer { elsewhere.remove() }
        #expect(try SecretStore.loadOrCreate(configured: "", stateDirectory: elsewhere.path) != first)
    }

    @Test func aConfiguredSecretWinsOverTheStoredOne() throws {
        let state = StateDirectory()
        defer { state.remove() }
        _ = try SecretStore.loadOrCreate(configured: "", stateDirectory: state.path)
        let configured = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        #expect(
            try SecretStore.loadOrCreate(configured: configured, stateDirectory: state.path) == Array(configured.utf8))
    }

    @Test func aShortConfiguredSecretIsRejected() {
        #expect(throws: SecretError.configuredTooShort(bytes: 6)) {
            try SecretStore.loadOrCreate(configured: "secret", stateDirectory: "/unused")
        }
    }

    @Test func anUnwritableStateDirectoryIsAClearError() throws {
        let state = StateDirectory()
        defer { state.remove() }
        // A regular file where the state directory should be: fails for every user, root included.
        try FileManager.default.createDirectory(atPath: state.root, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: state.path, contents: Data("not a directory".utf8))
        do {
            _ = try SecretStore.loadOrCreate(configured: "", stateDirectory: state.path)
            Issue.record("expected an error")
        } catch {
            #expect(error == .cannotCreateDirectory(path: state.path, errno: ENOTDIR))
            #expect(error.description.contains("state_dir"))
            #expect(error.description.contains("Not a directory"))
        }
    }

    @Test func aSecretFileReadableByOthersIsRefused() throws {
        let state = StateDirectory()
        defer { state.remove() }
        _ = try SecretStore.loadOrCreate(configured: "", stateDirectory: state.path)
        chmod(state.secretFile, 0o644)
        #expect(throws: SecretError.insecurePermissions(path: state.secretFile, mode: 0o100644)) {
            try SecretStore.loadOrCreate(configured: "", stateDirectory: state.path)
        }
    }

    @Test func aTruncatedSecretFileIsRefused() throws {
        let state = StateDirectory()
        defer { state.remove() }
        try FileManager.default.createDirectory(atPath: state.path, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(
            atPath: state.secretFile, contents: Data([1, 2, 3]), attributes: [.posixPermissions: 0o600])
        #expect(throws: SecretError.corrupt(path: state.secretFile, bytes: 3)) {
            try SecretStore.loadOrCreate(configured: "", stateDirectory: state.path)
        }
    }
}
