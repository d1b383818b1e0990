import CFuzzerDriver
import Glibc

/// The input handler of this fuzz executable; set once by ``FuzzDriver/run(_:)`` before libFuzzer starts.
nonisolated(unsafe) private var testOneInput: ((UnsafeRawBufferPointer) -> Void)?

/// libFuzzer's entry point for one input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    testOneInput?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Runs libFuzzer from a Swift `main`.
///
/// SwiftPM links an executable target with its `main` renamed after the module (`--defsym main=<Module>_main`),
/// so libFuzzer's own `main` cannot be the entry point; each fuzz target has a `@main` that calls this, and
/// libFuzzer's `LLVMFuzzerRunDriver` reads the usual flags and corpus directories from the command line.
public enum FuzzDriver {
    public static func run(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
        testOneInput = body
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzerTestOneInput(data, size) }
        exit(status)
    }
}

/// Stops the run with a message when a property the harness checks does not hold; libFuzzer reports it as a
/// crash and saves the input.
public func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        var text = "fuzz check failed: \(message())\n"
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        abort()
    }
}
