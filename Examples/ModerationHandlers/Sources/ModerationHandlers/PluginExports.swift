import HoldfastHandlerAPI

// The C entry points the host looks up with dlsym (see HoldfastPluginExport).
@_cdecl("holdfast_plugin_abi") public func holdfastPluginABI() -> Int32 { HoldfastPluginExport.abi() }
@_cdecl("holdfast_plugin_build_tag") public func holdfastPluginBuildTag() -> UnsafePointer<CChar> { HoldfastPluginExport.buildTag() }
@_cdecl("holdfast_plugin_factory") public func holdfastPluginFactory() -> UnsafeMutableRawPointer { HoldfastPluginExport.factory(ModerationFactory()) }
