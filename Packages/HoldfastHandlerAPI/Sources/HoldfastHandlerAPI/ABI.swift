/// The version of this interface, as the host process runs it. Bump it, rename
/// ``_holdfastHandlerABI_1()`` to match, and update ``HoldfastPluginExport/compiledABI`` and the build tag
/// ladder on every incompatible change: changed or removed requirements, changed `@frozen` types.
public let handlerAPIVersion: Int32 = 1

/// The versioned symbol. Every plugin references it from the ``HoldfastPluginExport`` helpers it compiles in,
/// so a plugin built against another interface version fails at `dlopen` (RTLD_NOW: undefined symbol) before
/// any of its code runs.
public func _holdfastHandlerABI_1() -> Int32 {
    handlerAPIVersion
}

/// The C entry points of a handler plugin and the helpers that implement them.
///
/// A plugin exports them by copying these three lines into one of its files, changing only the factory
/// expression (the one line a plugin author writes):
///
/// ```swift
/// @_cdecl("holdfast_plugin_abi") public func holdfastPluginABI() -> Int32 { HoldfastPluginExport.abi() }
/// @_cdecl("holdfast_plugin_build_tag") public func holdfastPluginBuildTag() -> UnsafePointer<CChar> { HoldfastPluginExport.buildTag() }
/// @_cdecl("holdfast_plugin_factory") public func holdfastPluginFactory() -> UnsafeMutableRawPointer { HoldfastPluginExport.factory(MyHandlerFactory()) }
/// ```
///
/// The helpers are `@_alwaysEmitIntoClient`: their bodies are compiled into the plugin itself (also at
/// `-Onone`, where `@inlinable` would call the host's copy), so the numbers they report are the ones the
/// plugin was built with, not the host's.
public enum HoldfastPluginExport {
    /// The symbol names the host looks up with `dlsym`.
    public static let abiSymbol = "holdfast_plugin_abi"
    public static let buildTagSymbol = "holdfast_plugin_build_tag"
    public static let factorySymbol = "holdfast_plugin_factory"

    /// The interface version the calling code was compiled against.
    @_alwaysEmitIntoClient
    public static var compiledABI: Int32 { 1 }

    /// Identifies the interface version and the compiler the calling code was built with; plugins and host
    /// must agree on it exactly. NUL-terminated, so it can be handed to C as is.
    @_alwaysEmitIntoClient
    public static var compiledBuildTag: StaticString {
        #if compiler(>=6.5)
        return "holdfast-handler-api=1;swift>=6.5\0"
        #elseif compiler(>=6.4)
        return "holdfast-handler-api=1;swift=6.4\0"
        #elseif compiler(>=6.3)
        return "holdfast-handler-api=1;swift=6.3\0"
        #elseif compiler(>=6.2)
        return "holdfast-handler-api=1;swift=6.2\0"
        #elseif compiler(>=6.1)
        return "holdfast-handler-api=1;swift=6.1\0"
        #else
        return "holdfast-handler-api=1;swift=6.0\0"
        #endif
    }

    /// ``compiledBuildTag`` as a Swift string (without the terminating NUL), for the host's comparison.
    @_alwaysEmitIntoClient
    public static var compiledBuildTagString: String {
        let tag = compiledBuildTag
        let count = tag.utf8CodeUnitCount
        let bytes = UnsafeBufferPointer(start: tag.utf8Start, count: count)
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Implements `holdfast_plugin_abi`: the interface version the plugin was compiled against.
    @_alwaysEmitIntoClient
    public static func abi() -> Int32 {
        _ = _holdfastHandlerABI_1()
        return compiledABI
    }

    /// Implements `holdfast_plugin_build_tag`: a NUL-terminated string in the plugin's read-only data.
    @_alwaysEmitIntoClient
    public static func buildTag() -> UnsafePointer<CChar> {
        _ = _holdfastHandlerABI_1()
        return UnsafeRawPointer(compiledBuildTag.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// Implements `holdfast_plugin_factory`: the factory, retained once for the host, which takes it over
    /// with `Unmanaged<AnyObject>.fromOpaque(_:).takeRetainedValue()`.
    @_alwaysEmitIntoClient
    public static func factory(_ factory: @autoclosure () -> any HandlerFactory) -> UnsafeMutableRawPointer {
        _ = _holdfastHandlerABI_1()
        return Unmanaged.passRetained(factory() as AnyObject).toOpaque()
    }
}
