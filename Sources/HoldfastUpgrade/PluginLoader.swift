import Glibc
public import HoldfastHandlerAPI
import Synchronization

/// A plugin that passed every check, with its factory. Its image stays mapped for the life of the process.
public struct LoadedPlugin: Sendable {
    /// The path it was loaded from.
    public let path: String
    /// ``HandlerFactory/pluginVersion`` of its factory.
    public let version: String
    /// The interface version it reported (equal to the host's).
    public let abi: Int32
    /// The build tag it reported (equal to the host's).
    public let buildTag: String
    /// The plugin's entry object.
    public let factory: any HandlerFactory
    let image: PluginImage
}

/// A `dlopen` handle. Never closed: the Swift runtime keeps pointers into every image's metadata, so
/// unloading one crashes the next conformance lookup.
struct PluginImage: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
}

/// Loads handler plugins: `dlopen` with `RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE`, then the ABI number, then
/// the build tag, and only then the factory and the cast; no Swift type of the plugin is touched before the
/// two checks passed. Never unloads.
public enum PluginLoader {
    /// Loads are serialized: dlerror's text is per thread, and one load at a time keeps logs readable.
    private static let lock = Mutex(())

    /// The interface version of the running host.
    public static var hostABI: Int32 { handlerAPIVersion }
    /// The build tag of the running host.
    public static var hostBuildTag: String { HoldfastPluginExport.compiledBuildTagString }

    /// Loads and checks the plugin at `path`.
    public static func load(path: String) throws(PluginLoadError) -> LoadedPlugin {
        try checkFile(path)
        let result: Result<LoadedPlugin, PluginLoadError> = lock.withLock { _ in
            do throws(PluginLoadError) {
                return .success(try open(path))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The checks that need no `dlopen`: something exists at `path` and it is a regular file.
    public static func checkFile(_ path: String) throws(PluginLoadError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .fileNotFound(path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notARegularFile(path: path) }
    }

    private typealias ABIEntry = @convention(c) () -> Int32
    private typealias BuildTagEntry = @convention(c) () -> UnsafePointer<CChar>?
    private typealias FactoryEntry = @convention(c) () -> UnsafeMutableRawPointer?

    private static func open(_ path: String) throws(PluginLoadError) -> LoadedPlugin {
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let detail = dlerror().map { String(cString: $0) } ?? "dlopen failed"
            if detail.contains("undefined symbol") { throw .missingSymbol(path: path, detail: detail) }
            throw .notASharedObject(path: path, detail: detail)
        }
        // From here on the image stays mapped whatever happens (RTLD_NODELETE; never dlclose).
        guard let abiSymbol = dlsym(handle, HoldfastPluginExport.abiSymbol) else {
            throw .notAHoldfastPlugin(path: path, missingSymbol: HoldfastPluginExport.abiSymbol)
        }
        let abi = unsafeBitCast(abiSymbol, to: ABIEntry.self)()
        guard abi == hostABI else { throw .abiMismatch(plugin: abi, host: hostABI) }

        guard let tagSymbol = dlsym(handle, HoldfastPluginExport.buildTagSymbol) else {
            throw .notAHoldfastPlugin(path: path, missingSymbol: HoldfastPluginExport.buildTagSymbol)
        }
        let tag = unsafeBitCast(tagSymbol, to: BuildTagEntry.self)().map { String(cString: $0) } ?? ""
        guard tag == hostBuildTag else { throw .buildTagMismatch(plugin: tag, host: hostBuildTag) }

        guard let factorySymbol = dlsym(handle, HoldfastPluginExport.factorySymbol) else {
            throw .notAHoldfastPlugin(path: path, missingSymbol: HoldfastPluginExport.factorySymbol)
        }
        guard let pointer = unsafeBitCast(factorySymbol, to: FactoryEntry.self)() else {
            throw .wrongEntryType(path: path, found: "a null pointer")
        }
        let object = Unmanaged<AnyObject>.fromOpaque(pointer).takeRetainedValue()
        guard let factory = object as? any HandlerFactory else {
            throw .wrongEntryType(path: path, found: String(describing: type(of: object)))
        }
        return LoadedPlugin(
            path: path, version: factory.pluginVersion, abi: abi, buildTag: tag, factory: factory,
            image: PluginImage(handle: handle))
    }
}
