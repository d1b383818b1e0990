import ArgumentParser

/// The connections of a run that sends no traffic (`idle`, `handshakes`): where they go, how they are spread
/// over client processes, and the command line that gives a worker process its share.
///
/// Both commands open N connections with a bounded number of handshakes in progress and differ only in what
/// they read around the opening (the server's memory, or its CPU time) and whether each connection closes as
/// soon as it is open.
struct QuietFleet {
    /// The subcommand a worker runs (`idle`, `handshakes`).
    let command: String
    let url: String
    let connections: Int
    let threads: Int
    let processes: Int
    let concurrency: Int
    let connectTimeout: Double
    /// The number of this process's first connection (a worker's share starts past the others').
    let firstConnection: Int
    let tls: TLSOptions
    /// Close each connection as soon as its `101` arrives.
    let closeOnOpen: Bool
    private let target: Target
    private let tlsMix: TLSMix?

    /// Checks the endpoints at once, in the parent as in a worker, so a bad URL fails before anything opens.
    init(
        command: String, url: String, connections: Int, threads: Int, processes: Int, concurrency: Int,
        connectTimeout: Double, firstConnection: Int, tls: TLSOptions, closeOnOpen: Bool
    ) throws {
        (self.command, self.url, self.connections, self.threads) = (command, url, connections, threads)
        (self.processes, self.concurrency, self.connectTimeout) = (processes, concurrency, connectTimeout)
        (self.firstConnection, self.tls, self.closeOnOpen) = (firstConnection, tls, closeOnOpen)
        target = try Target(url: url)
        tlsMix = try tls.mix(plain: target)
    }

    /// The TLS endpoint when some connections speak TLS, else the plain one.
    var reportedURL: String { tlsMix == nil ? url : (tls.url ?? url) }

    /// The checks both commands make on their counts.
    static func validate(connections: Int, threads: Int, processes: Int, concurrency: Int) throws {
        guard connections > 0, threads > 0, processes > 0, concurrency > 0 else {
            throw ValidationError("connections, threads, processes and concurrency must be positive")
        }
        guard connections >= processes else { throw ValidationError("need at least one connection per process") }
    }

    /// In a worker process (`worker` set): opens this process's share, serves the parent's line protocol and
    /// returns true. In the parent: returns false and opens nothing.
    func serveAsWorker(_ worker: Int?) throws -> Bool {
        guard worker != nil else { return false }
        try WorkerMode.serve(runner: try makeRunner(), connectTimeout: connectTimeout)
        return true
    }

    /// Opens every connection, in this process or spread over `processes` workers (each given `extraArguments`
    /// on its command line as well).
    func connect(extraArguments: [String] = []) throws -> Fleet<LoadRunner> {
        try Fleet.connect(
            processes: processes, connectTimeout: connectTimeout,
            workerArguments: { workerArguments($0) + extraArguments }, makeRunner: makeRunner)
    }

    private func makeRunner() throws -> LoadRunner {
        try LoadRunner(
            target: target, tls: tlsMix, firstNumber: firstConnection, connections: connections,
            threads: threads, concurrency: concurrency, traffic: nil, closeOnOpen: closeOnOpen)
    }

    /// The command line of worker `index`: these options with its share of the connections.
    private func workerArguments(_ index: Int) -> [String] {
        let part = EvenSplit(total: connections, parts: processes).range(index)
        return [
            command, "--url", url, "--connections", "\(part.count)", "--threads", "\(threads)",
            "--concurrency", "\(concurrency)", "--connect-timeout", "\(connectTimeout)", "--worker", "\(index)",
            "--first-connection", "\(part.lowerBound)",
        ] + tls.workerArguments
    }
}
