import Glibc
import HoldfastHandlerAPI
import HoldfastUpgrade
import Testing

/// The handler settings file: JSON handed to the plugin as a value, nothing when no path is set, and a reason an
/// operator can act on when the file is missing or not JSON.
@Suite struct HandlerConfigTests {
    private func file(_ text: String) -> String {
        var template = Array("/tmp/holdfast-handler-config-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    @Test func aJSONFileBecomesTheValueAndNoPathIsNull() throws {
        let path = file(#"{"moderators": ["mia"], "slow_mode_seconds": 5}"#)
        defer { unlink(path) }
        #expect(
            try HandlerConfig.load(path: path)
                == .object([
                    HandlerMember("moderators", .array([.string("mia")])), HandlerMember("slow_mode_seconds", .int(5)),
                ]))
        #expect(try HandlerConfig.load(path: "") == .null)
    }

    @Test func aMissingFileOrOneThatIsNotJSONIsRefusedWithItsPath() {
        let broken = file("{not json")
        defer { unlink(broken) }
        for path in [broken, "/nonexistent/handlers.json"] {
            do {
                _ = try HandlerConfig.load(path: path)
                Issue.record("\(path) was accepted")
            } catch {
                #expect(error.check == "config_invalid" && error.description.contains(path))
            }
        }
    }
}
