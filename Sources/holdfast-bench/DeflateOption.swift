import ArgumentParser

/// `--deflate`: the channel scenarios' clients offer permessage-deflate with `server_no_context_takeover`; each
/// distinct compressed message is inflated once per client loop (``InflateCache``).
struct DeflateOption: ParsableArguments {
    @Flag(
        name: .customLong("deflate"),
        help: """
            Offer permessage-deflate with server_no_context_takeover; replies, broadcasts and presence arrive \
            compressed, and each distinct compressed message is inflated once per client loop.
            """)
    var enabled = false

    /// The same choice for a worker process.
    var workerArguments: [String] { enabled ? ["--deflate"] : [] }
}
