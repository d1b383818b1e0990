extension PluginRegistry {
    /// Continues another process's handler: its chain of plugins (`paths`, oldest first) where they load here,
    /// migrating `state` (exported by `version`) if this process's code differs; else this binary's own current
    /// plugin with the state migrated to it. `unloadable` hears of each plugin that does not load here.
    public func continueChain(
        _ paths: [String], state: [UInt8], version: String, unloadable: (String, PluginUpgradeError) -> Void
    ) throws(PluginUpgradeError) {
        var chain: [LoadedPlugin] = []
        for path in paths {
            do {
                chain.append(try load(path: path))
            } catch {
                unloadable(path, error)
            }
        }
        if chain.last?.path != paths.last, let own = current {
            chain = [own]
        }
        try adopt(chain: chain, state: state, version: version)
    }
}
