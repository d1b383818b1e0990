import ArgumentParser

/// `--tls-share` and `--tls-url`: which share of a scenario's connections speak TLS, and to which listener.
struct TLSOptions: ParsableArguments {
    @Option(
        name: .customLong("tls-share"),
        help: """
            Fraction (0…1) of the connections that use TLS (--tls-url), spread evenly over the connection numbers; \
            the rest use --url. Certificates are NOT verified: the bench is meant for a loopback server with a \
            self-signed certificate.
            """)
    var share = 0.0

    @Option(
        name: .customLong("tls-url"),
        help: "The server's TLS endpoint, wss://HOST:PORT[/PATH]; without a path, --url's path is used.")
    var url: String?

    func validate() throws {
        guard (0...1).contains(share) else { throw ValidationError("--tls-share must be between 0 and 1") }
        if share > 0 {
            guard let url else { throw ValidationError("--tls-share needs --tls-url wss://HOST:PORT") }
            guard url.hasPrefix("wss://") else { throw ValidationError("--tls-url must be a wss:// URL") }
        }
    }

    /// The TLS mix for a run whose plain connections go to `plain`, or nil when no connection uses TLS.
    func mix(plain: Target) throws -> TLSMix? {
        guard share > 0, let url else { return nil }
        var target = try Target(url: url, schemes: ["wss"])
        if target.path == "/" { target.path = plain.path }
        return TLSMix(target: target, context: try BenchTLSContext(), share: share)
    }

    /// The same options for a worker process.
    var workerArguments: [String] {
        share > 0 ? ["--tls-share", "\(share)"] + (url.map { ["--tls-url", $0] } ?? []) : []
    }
}

/// Which connections of a run use TLS, and what they need to do so.
///
/// Connection number `n` (a user's number, over all processes) uses TLS when `⌊(n+1)·share⌋ > ⌊n·share⌋`: of
/// any first N connections exactly ⌊N·share⌋ do, evenly spread, and every process decides the same way for the
/// numbers it holds, so the split is exact however the connections are spread over processes and loops.
struct TLSMix: Sendable {
    /// The `wss://` listener.
    var target: Target
    var context: BenchTLSContext
    /// The share in millionths, so the choice is integer arithmetic.
    private var perMillion: Int

    init(target: Target, context: BenchTLSContext, share: Double) {
        self.target = target
        self.context = context
        perMillion = Int((share * 1_000_000).rounded())
    }

    /// Whether connection number `number` uses TLS.
    func selects(_ number: Int) -> Bool {
        (number + 1) * perMillion / 1_000_000 > number * perMillion / 1_000_000
    }

    /// A fresh client TLS state for one connection (SNI only for a host name, as RFC 6066 requires).
    func client() throws(BenchError) -> BenchTLSClient {
        try BenchTLSClient(context: context, serverName: target.hostIsAddress ? nil : target.host)
    }
}
