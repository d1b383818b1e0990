import ArgumentParser

/// `--tls-share` and `--tls-url`: which share of a scenario's connections speak TLS, and to which listener.
struct TLSOptions: ParsableArguments {
    @Option(
        name: .customLong("tls-share"),
        help: """
            Fraction (0…1) of the connections that use TLS (--tls-url), spread evenly over the connection numbers; \
            the rest use --url. With several nodes (--url repeated) a TLS user goes to the TLS listener of the node \
            it is assigned to. Certificates are NOT verified: the bench is meant for a loopback server with a \
            self-signed certificate.
            """)
    var share = 0.0

    @Option(
        name: .customLong("tls-url"),
        help: """
            The server's TLS endpoint, wss://HOST:PORT[/PATH]; without a path, --url's path is used. Repeat it once \
            per --url, in the same order, to give each node its own TLS listener (given once, every TLS user goes to \
            that one listener).
            """)
    var urls: [String] = []

    /// The first TLS endpoint, if any.
    var url: String? { urls.first }

    func validate() throws {
        guard (0...1).contains(share) else { throw ValidationError("--tls-share must be between 0 and 1") }
        if share > 0 {
            guard !urls.isEmpty else { throw ValidationError("--tls-share needs --tls-url wss://HOST:PORT") }
            guard urls.allSatisfy({ $0.hasPrefix("wss://") }) else { throw ValidationError("--tls-url must be a wss:// URL") }
        }
    }

    /// The TLS mix for a run whose plain connections go to `plain` (one target per node), or nil when no
    /// connection uses TLS.
    func mix(plain: Target, nodes: Int = 1) throws -> TLSMix? {
        guard share > 0, !urls.isEmpty else { return nil }
        guard urls.count == 1 || urls.count == nodes else {
            throw BenchError("give --tls-url once, or once per --url (\(nodes) nodes, \(urls.count) TLS URLs)")
        }
        let targets = try urls.map { url throws(BenchError) in
            var target = try Target(url: url, schemes: ["wss"])
            if target.path == "/" { target.path = plain.path }
            return target
        }
        return TLSMix(targets: targets, context: try BenchTLSContext(), share: share)
    }

    /// The same options for a worker process.
    var workerArguments: [String] {
        share > 0 ? ["--tls-share", "\(share)"] + urls.flatMap { ["--tls-url", $0] } : []
    }
}

/// Which connections of a run use TLS, and what they need to do so.
///
/// Connection number `n` (a user's number, over all processes) uses TLS when `⌊(n+1)·share⌋ > ⌊n·share⌋`: of
/// any first N connections exactly ⌊N·share⌋ do, evenly spread, and every process decides the same way for the
/// numbers it holds, so the split is exact however the connections are spread over processes and loops.
struct TLSMix: Sendable {
    /// The `wss://` listener (the first node's, when each node has its own).
    var target: Target { targets[0] }
    /// The `wss://` listener of each node, in node order (one entry: every node's TLS users go there).
    var targets: [Target]
    var context: BenchTLSContext
    /// The share in millionths, so the choice is integer arithmetic.
    private var perMillion: Int

    init(target: Target, context: BenchTLSContext, share: Double) {
        self.init(targets: [target], context: context, share: share)
    }

    init(targets: [Target], context: BenchTLSContext, share: Double) {
        precondition(!targets.isEmpty, "a TLS mix needs a listener")
        self.targets = targets
        self.context = context
        perMillion = Int((share * 1_000_000).rounded())
    }

    /// Whether connection number `number` uses TLS.
    func selects(_ number: Int) -> Bool {
        (number + 1) * perMillion / 1_000_000 > number * perMillion / 1_000_000
    }

    /// The TLS listener of node `node`.
    func target(node: Int) -> Target { targets[node % targets.count] }

    /// A fresh client TLS state for one connection to `target` (default: the first listener; SNI only for a host
    /// name, as RFC 6066 requires).
    func client(to target: Target? = nil) throws(BenchError) -> BenchTLSClient {
        let target = target ?? self.target
        return try BenchTLSClient(context: context, serverName: target.hostIsAddress ? nil : target.host)
    }
}
