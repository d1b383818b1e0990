import Glibc
import HoldfastCore
public import Logging
import Synchronization

/// Records room events, batches them every `batch_ms`, queues each batch on disk per URL and delivers it, signed,
/// at least once (see the module notes in `WebhookEvent.swift`).
public final class WebhookDispatcher: Sendable {
    /// What the dispatcher needs from the configuration.
    public struct Settings: Sendable {
        public var urls: [String]
        public var secret: String
        public var stateDirectory: String
        public var batchMilliseconds: Int64 = 100
        public var timeoutMilliseconds: Int64 = 5_000
        public var maxBackoffMilliseconds: Int64 = 30_000
        public var queueMaxBytes = 64 << 20
        public var clientMessages = false

        public init(urls: [String], secret: String, stateDirectory: String) {
            self.urls = urls
            self.secret = secret
            self.stateDirectory = stateDirectory
        }
    }

    struct Shared: ~Copyable {
        var batcher = WebhookBatcher()
        /// The fd holding `webhooks.lock`, once this process owns the queues.
        var lockFD: Int32 = -1
        /// After ``flushForExit()``: record nothing more.
        var stopped = false
    }

    private let settings: Settings
    private let logger: Logger
    private let signer: WebhookSigner
    private let shared = Mutex(Shared())
    private let lanes: [WebhookLane]
    private let wallMilliseconds: @Sendable () -> Int64
    /// Whether stored chat messages become `client_message` events.
    public var clientMessages: Bool { settings.clientMessages }

    /// Starts the batcher and one delivery thread per URL. The queues are opened once this process holds the
    /// state dir's `webhooks.lock` (at once, or when the process it took over from exits).
    public init(
        settings: Settings, logger: Logger, wallMilliseconds: @escaping @Sendable () -> Int64
    ) {
        self.settings = settings
        self.logger = logger
        self.wallMilliseconds = wallMilliseconds
        signer = WebhookSigner(secret: settings.secret)
        lanes = settings.urls.enumerated().compactMap { index, url in
            guard let target = WebhookTarget(url: url) else { return nil }
            let path = settings.stateDirectory + "/webhooks-\(index)-\(Self.fnv(url)).queue"
            return WebhookLane(target: target, queuePath: path)
        }
        startThread { [self] in batchLoop() }
        for lane in lanes { startThread { [self] in deliveryLoop(lane) } }
    }

    /// Records one event into the open batch. Any thread.
    public func record(_ event: WebhookEvent) {
        shared.withLock { if !$0.stopped { $0.batcher.add(event) } }
    }

    /// Closes the open batch into the queues and stops recording: for a process about to exit (a shutdown, or
    /// the old process of a binary upgrade just before it hands over). Waits up to `waitMilliseconds` for the
    /// queue lock if this process does not hold it yet.
    public func flushForExit(waitMilliseconds: Int64 = 1_000) {
        let deadline = MonotonicClock.nowMilliseconds() + waitMilliseconds
        while !tick(final: true) && MonotonicClock.nowMilliseconds() < deadline { usleep(20_000) }
    }

    private func batchLoop() {
        while true {
            usleep(UInt32(settings.batchMilliseconds * 1000))
            if shared.withLock({ $0.stopped }) { return }
            _ = tick(final: false)
        }
    }

    /// Takes the queue lock if needed, then closes the open batch into every lane. Returns whether it could.
    @discardableResult
    private func tick(final: Bool) -> Bool {
        let (owned, body) = shared.withLock { state -> (Bool, [UInt8]?) in
            if state.stopped { return (true, nil) }
            if state.lockFD < 0 { state.lockFD = takeLock() }
            guard state.lockFD >= 0 || final == false else { return (false, nil) }
            if final { state.stopped = true }
            return (state.lockFD >= 0, state.batcher.takeBatch(nowMilliseconds: wallMilliseconds()))
        }
        for lane in lanes {
            if owned { openQueue(of: lane) }
            if let body { lane.add(body, logger: logger) }
        }
        return owned
    }

    /// `flock` on `webhooks.lock`: held by one process at a time, released by the kernel when it exits.
    private func takeLock() -> Int32 {
        let fd = open(settings.stateDirectory + "/webhooks.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return -1 }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return fd }
        Glibc.close(fd)
        return -1
    }

    private func openQueue(of lane: WebhookLane) {
        guard !lane.isOpen else { return }
        do {
            let queue = try WebhookQueue(path: lane.queuePath, maxBytes: settings.queueMaxBytes)
            if queue.count > 0 {
                logger.notice(
                    "webhook queue reopened", metadata: ["url": "\(lane.target.url)", "batches": "\(queue.count)"])
            }
            lane.open(queue, logger: logger)
        } catch {
            logger.error("webhook queue unusable, batches kept in memory", metadata: ["error": "\(error)"])
        }
    }

    private func deliveryLoop(_ lane: WebhookLane) {
        var backoff: Int64 = 0
        while true {
            guard let (sequence, body) = lane.front() else {
                _ = lane.wake.wait(timeoutMilliseconds: 1_000)
                continue
            }
            let timestamp = wallMilliseconds() / 1000
            let status = lane.target.post(
                body: body, headers: [("X-Holdfast-Signature", signer.signature(body: body, timestamp: timestamp))],
                timeoutMilliseconds: settings.timeoutMilliseconds)
            if let status, (200..<300).contains(status) {
                lane.delivered(sequence)
                backoff = 0
                continue
            }
            backoff = min(max(250, backoff * 2), settings.maxBackoffMilliseconds)
            logger.warning(
                "webhook delivery failed, retrying",
                metadata: [
                    "url": "\(lane.target.url)", "status": "\(status.map(String.init) ?? "unreachable")",
                    "retry-in-ms": "\(backoff)", "queued": "\(lane.count)",
                ])
            usleep(UInt32(backoff * 1000))
        }
    }

    static func fnv(_ text: String) -> String {
        var hash: UInt32 = 0x811c_9dc5
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        return String(hash, radix: 16)
    }
}

/// One URL: its queue (in memory until the process owns the queue files) and the delivery thread's wake-up.
final class WebhookLane: Sendable {
    struct State: ~Copyable {
        var queue: WebhookQueue?
        /// Batches closed before the queue was open (or while its file failed).
        var memory: [[UInt8]] = []
        var memorySequence: UInt64 = 0
    }

    let target: WebhookTarget
    let queuePath: String
    let wake = ThreadSemaphore()
    private let state = Mutex(State())

    init(target: WebhookTarget, queuePath: String) {
        self.target = target
        self.queuePath = queuePath
    }

    var isOpen: Bool { state.withLock { $0.queue != nil } }
    var count: Int { state.withLock { ($0.queue?.count ?? 0) + $0.memory.count } }

    /// Adopts the opened queue; batches held in memory meanwhile go behind what it already holds.
    func open(_ queue: WebhookQueue, logger: Logger) {
        state.withLock { state in
            for body in state.memory {
                do { try queue.append(body) } catch {
                    logger.error("webhook queue append failed", metadata: ["error": "\(error)"])
                }
            }
            state.memory.removeAll()
            state.queue = queue
        }
        wake.signal()
    }

    func add(_ body: [UInt8], logger: Logger) {
        state.withLock { state in
            if let queue = state.queue {
                do {
                    try queue.append(body)
                } catch {
                    logger.error("webhook queue append failed, kept in memory", metadata: ["error": "\(error)"])
                    state.memory.append(body)
                }
            } else {
                state.memory.append(body)
            }
        }
        wake.signal()
    }

    /// The batch to deliver next, with the sequence that confirms it later. Only from the disk queue: batches in
    /// memory wait until this process owns the queue files, so they go out after what an older process queued.
    func front() -> (UInt64, [UInt8])? {
        state.withLock { state in
            guard let queue = state.queue else { return nil }
            if let body = queue.peek { return (queue.frontSequence, body) }
            guard !state.memory.isEmpty else { return nil }
            state.memorySequence &+= 1
            return (UInt64.max - state.memorySequence, state.memory[0])
        }
    }

    func delivered(_ sequence: UInt64) {
        state.withLock { state in
            guard let queue = state.queue else { return }
            if queue.peek != nil {
                if queue.frontSequence == sequence { queue.removeFirst() }
            } else if !state.memory.isEmpty && sequence == UInt64.max - state.memorySequence {
                state.memory.removeFirst()
            }
        }
    }
}
