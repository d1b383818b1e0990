import Foundation
import Glibc

/// Paths of the plugins the tests load, and builders for the ones they make themselves.
enum PluginFixtures {
    struct CommandFailed: Error, CustomStringConvertible {
        let description: String
    }

    /// The package root: the first directory above this file that holds a Package.swift.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
            url = url.deletingLastPathComponent()
        }
        return FileManager.default.currentDirectoryPath
    }()

    /// The build directory the tests run from: the test executable's directory, where SwiftPM also puts
    /// libChatHandlers.so and libHoldfastHandlerAPI.so (fallback: `.build/debug` of the package).
    static let binDirectory: String = {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        if FileManager.default.fileExists(atPath: executable + "/libHoldfastHandlerAPI.so") { return executable }
        return packageRoot + "/.build/debug"
    }()

    /// The default handlers, 1.0.0, built with the package.
    static var chatHandlersV1: String { binDirectory + "/libChatHandlers.so" }

    /// A fresh directory for this test process's own plugins.
    static let temporaryDirectory: String = {
        var template = Array((NSTemporaryDirectory() + "/holdfast-upgrade-tests-XXXXXX").utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }()

    /// Runs a shell command; returns its standard output, throws with its standard error on failure.
    @discardableResult
    static func shell(_ command: String) throws -> String {
        let id = UUID().uuidString
        let out = temporaryDirectory + "/\(id).out"
        let err = temporaryDirectory + "/\(id).err"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\(command) > '\(out)' 2> '\(err)'"]
        try process.run()
        process.waitUntilExit()
        let output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            let error = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
            throw CommandFailed(description: "`\(command)` exited with \(process.terminationStatus): \(error.suffix(2000))")
        }
        return output
    }

    /// Examples/ChatHandlersV2 built with its build.sh (release); the path is the script's last line.
    static let chatHandlersV2 = Task<String, any Error> {
        let output = try shell("'\(packageRoot)/Examples/ChatHandlersV2/build.sh'")
        guard let path = output.split(separator: "\n").last.map(String.init), path.hasPrefix("/") else {
            throw CommandFailed(description: "build.sh printed no path: \(output)")
        }
        return path
    }

    /// A broken Swift plugin from Fixtures/FaultyHandlers.swift, built with `-D flavour`.
    static func faultyPlugin(_ flavour: String) throws -> String {
        let output = "\(temporaryDirectory)/libFaulty-\(flavour).so"
        try shell(
            "swiftc -swift-version 6 -parse-as-library -emit-library -module-name FaultyHandlers -D \(flavour)"
                + " '\(packageRoot)/Tests/HoldfastUpgradeTests/Fixtures/FaultyHandlers.swift'"
                + " -I '\(binDirectory)/Modules' -L '\(binDirectory)' -lHoldfastHandlerAPI"
                + " -Xlinker -rpath -Xlinker '\(binDirectory)' -o '\(output)'")
        return output
    }

    static let migrateThrows = Task<String, any Error> { try faultyPlugin("MIGRATE_THROWS") }
    static let initThrows = Task<String, any Error> { try faultyPlugin("INIT_THROWS") }
    static let wrongEntry = Task<String, any Error> { try faultyPlugin("WRONG_ENTRY") }

    /// A fake plugin in C from Fixtures/fake_plugins.c, built with gcc and `-D flavour` (empty: no entry points).
    static func cPlugin(_ flavour: String) throws -> String {
        let name = flavour.isEmpty ? "plain" : flavour
        let output = "\(temporaryDirectory)/libfake-\(name).so"
        let define = flavour.isEmpty ? "" : "-D \(flavour)"
        try shell("cc -shared -fPIC \(define) '\(packageRoot)/Tests/HoldfastUpgradeTests/Fixtures/fake_plugins.c' -o '\(output)'")
        return output
    }

    /// Writes a file with `contents` into the temporary directory.
    static func file(named name: String, contents: String) throws -> String {
        let path = temporaryDirectory + "/" + name
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
