/// Why ``PluginLoader/load(path:)`` refused a plugin. Each case names the check that failed; the process
/// is unaffected by a refusal (a refused image that was mapped stays mapped, unused).
public enum PluginLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing exists at the path.
    case fileNotFound(path: String)
    /// The path exists but is a directory, socket, device or the like.
    case notARegularFile(path: String)
    /// `dlopen` refused the file as a shared object (not ELF, wrong architecture, truncated…).
    case notASharedObject(path: String, detail: String)
    /// `dlopen` could not resolve a symbol the plugin needs: it was built against another version of the
    /// handler interface (its versioned ABI symbol is gone) or of something else the host provides.
    case missingSymbol(path: String, detail: String)
    /// A loadable shared object that lacks one of the Holdfast plugin entry points.
    case notAHoldfastPlugin(path: String, missingSymbol: String)
    /// The plugin was compiled against interface version `plugin`; the host runs `host`.
    case abiMismatch(plugin: Int32, host: Int32)
    /// The plugin was built with another compiler or interface build than the host.
    case buildTagMismatch(plugin: String, host: String)
    /// The factory entry point returned something that is not a `HandlerFactory` of the host's interface
    /// (typically a plugin that linked its own copy of HoldfastHandlerAPI statically).
    case wrongEntryType(path: String, found: String)

    /// The name of the check that failed, stable for machine use (admin answers, metrics).
    public var check: String {
        switch self {
        case .fileNotFound: return "file_not_found"
        case .notARegularFile: return "not_a_regular_file"
        case .notASharedObject: return "not_a_shared_object"
        case .missingSymbol: return "missing_symbol"
        case .notAHoldfastPlugin: return "not_a_holdfast_plugin"
        case .abiMismatch: return "abi_mismatch"
        case .buildTagMismatch: return "build_tag_mismatch"
        case .wrongEntryType: return "wrong_entry_type"
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "no plugin file at \(path): check the path (it is resolved by the server process)"
        case .notARegularFile(let path):
            return "\(path) is not a regular file: give the path of the plugin's .so file itself"
        case .notASharedObject(let path, let detail):
            return "\(path) is not a loadable shared object (\(detail)): build the handlers with SwiftPM as a .dynamic library product"
        case .missingSymbol(let path, let detail):
            return "\(path) needs a symbol this server does not provide (\(detail)): rebuild the plugin against the HoldfastHandlerAPI version this server runs"
        case .notAHoldfastPlugin(let path, let missingSymbol):
            return "\(path) is not a Holdfast handler plugin (no \(missingSymbol) entry point): export the entry points with HoldfastPluginExport"
        case .abiMismatch(let plugin, let host):
            return "plugin built for handler interface version \(plugin), server runs version \(host): rebuild the plugin against this server's HoldfastHandlerAPI, or upgrade the server binary"
        case .buildTagMismatch(let plugin, let host):
            return "plugin build tag \"\(plugin)\" differs from the server's \"\(host)\": rebuild the plugin with the server's Swift toolchain"
        case .wrongEntryType(let path, let found):
            return "the factory of \(path) is a \(found), not a HandlerFactory of this server's interface: depend on the HoldfastHandlerAPI package (dynamic product), do not copy its sources"
        }
    }
}
