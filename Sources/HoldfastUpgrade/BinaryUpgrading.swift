/// Starts a whole-binary upgrade (socket handoff to a new process): what the admin endpoint and SIGUSR2 need of
/// it. The server's `BinaryUpgrade` is the implementation; connections reach it through the server context
/// without depending on the handoff code.
public protocol BinaryUpgrading: Sendable {
    /// The path this process was started as (SIGUSR2's default target, argv[0] of the new process).
    var startupExecutable: String { get }

    /// Starts an upgrade to the binary at `path`; `completion` runs once, on success just before this process
    /// exits (so it must answer `requesterFD` directly), on failure after the loops resumed.
    func upgrade(
        to path: String, requesterFD: Int32?,
        completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void)
}
