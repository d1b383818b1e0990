import Glibc
import HoldfastAPI
import HoldfastConfig
import HoldfastCore
import HoldfastHandoff
import HoldfastHTTP
import HoldfastTLS
import HoldfastWebSocket
import Logging
import Synchronization

/// One client connection, owned by one event loop for its whole life.
///
/// Layers, bottom up: TCP, optionally TLS (OpenSSL for the handshake only, then our own record layer), HTTP/1.1
/// until an upgrade, then WebSocket. Every piece of state is a stored property here (buffers, the phase with its
/// parser state in ``state``, the TLS record state), so a later binary upgrade can export it; nothing lives in
/// OpenSSL or the kernel beyond the socket itself, except during the TLS handshake.
///
/// Memory: an idle connection holds no buffers (each is released when it drains), its phases share one slot as
/// large as the largest layer, and the stored properties are declared in layout order (Swift keeps it) so they
/// pack into one 144-byte malloc chunk: loop and context come through `owner`, TLS state is one reference.
///
/// Thread ownership: every member is touched only on `loop`'s thread.
final class Connection: EventHandler {
    /// How long a closing WebSocket waits for the peer's close, and a lingering socket for EOF.
    static let closingGraceMilliseconds: Int64 = 2_000

    let fd: Int32
    /// Position in the loop's connection list (for O(1) removal).
    var slot: Int32 = -1
    unowned(unsafe) let owner: LoopConnections  // it owns us; a checked `unowned` retains it on every use
    /// The TLS record layer once the handshake is done: it outlives the HTTP and WebSocket phases (a close frame
    /// or an alert is still sealed while draining), so it is not part of ``state``.
    var tls: TLSRecordLayer?
    /// Received bytes not consumed yet (ciphertext on TLS connections).
    var inbound: [UInt8] = []
    /// Bytes to write to the socket; `outboundOffset` of them are already written.
    var outbound: [UInt8] = []
    var outboundOffset = 0
    /// When the current phase times out (monotonic ms); 0 when no deadline applies.
    var deadline: Int64
    /// Bumped by everything that can change the exported state but output: input, phase and deadline changes,
    /// Phoenix joins completing, compression. `outputGeneration` by output that changes more than the queue (TLS
    /// sealing, a partial write). A binary upgrade copies every connection before it pauses and, in the pause, sends
    /// nothing for one whose generations stayed and has no output queued, and only the output of one whose state
    /// generation stayed (see `StagedGeneration`). 32 bits each, so both take the 8 bytes one took: an upgrade
    /// compares them over seconds, far from a wrap. Either moving notes the connection as changed since staged.
    var handoffGeneration: UInt32 = 0 { didSet { owner.changed.note(self) } }
    var outputGeneration: UInt32 = 0 { didSet { owner.changed.note(self) } }
    /// Server API: the publish the request being answered waits for (a binary upgrade hands it over).
    var awaitedPublish: PublishWait?
    /// The phase and the protocol layer it runs (see ``State``).
    var state: State
    /// Answer every request with 503 (accepted while over the connection limit).
    let overLimit: Bool
    /// Accepted on the admin listener: only the admin endpoints are served.
    let isAdmin: Bool
    /// Accepted on the server API's listener: only the API is served.
    let isAPI: Bool
    var flushScheduled = false
    var writableRegistered = false
    var readingPaused = false
    /// What the flush does once the queued output is all written (see ``closeAfterFlush(lingering:)``).
    var afterFlush = AfterFlush.keepServing
    var outboundShared = false  // `outbound` may be a run shared with other connections (see `appendJoined`)
    /// Where queued messages start, for the slow-consumer check (see ``OutboundMarks``).
    var outboundMarks = OutboundMarks()
    /// Set by any received bytes; the idle sweep clears it.
    var sawTraffic = false
    var markedChanged = false  // among its loop's connections changed since a binary upgrade staged them
    var loop: EventLoop { owner.loop }
    var context: ServerContext { owner.context }
    /// TLS only: decrypted bytes not consumed yet, and application bytes to seal at the next flush (one record for
    /// many small frames). The record layer's object holds them, so a plaintext connection carries neither.
    var plainInbound: [UInt8] {
        get { tls?.plainInbound ?? [] }
        _modify { if let tls { yield &tls.plainInbound } else { var none: [UInt8] = []; yield &none } }
    }
    var plainOutbound: [UInt8] {
        get { tls?.plainOutbound ?? [] }
        _modify { if let tls { yield &tls.plainOutbound } else { var none: [UInt8] = []; yield &none } }
    }

    /// Output was queued: compression moves the WebSocket's state, TLS sealing only the output (see above).
    func noteOutputQueued() { if compresses { handoffGeneration &+= 1 } else if tls != nil { outputGeneration &+= 1 } }

    init(
        fd: Int32, owner: LoopConnections, tlsHandshake: TLSServerHandshake?, overLimit: Bool, isAdmin: Bool = false,
        isAPI: Bool = false
    ) {
        self.isAdmin = isAdmin
        self.isAPI = isAPI
        self.fd = fd
        self.owner = owner
        self.overLimit = overLimit
        let context = owner.context
        self.deadline = context.clock.nowMilliseconds() + context.configuration.server.handshakeTimeoutMilliseconds
        if let tlsHandshake {
            state = .tlsHandshake(tlsHandshake)
        } else {
            state = .http(isAPI ? HTTPLayer(limits: context.apiHTTPLimits) : nil)
        }
    }

    var logger: Logger { _read { yield context.logger } }  // borrowed: a debug line that logs nothing copies nothing

    // MARK: Events

    /// The loop's flush; nothing to do when the output left already (see `readAndAnswer`).
    override func flush() { if flushScheduled { writeQueued() } }

    override func handleEvent(readable: Bool, writable: Bool) {
        if readable { handoffGeneration &+= 1 }  // writable alone only writes (which counts its own change)
        if writable { writeQueued() }
        guard readable && phase != .closed else { return }
        if !readingPaused { return readAndAnswer() }
        // Not reading, yet reported: a reset or hang-up (epoll repeats it until the fd closes), so nothing more
        // can be delivered; an input event from before the pause leaves SO_ERROR at 0 and waits.
        if Socket.pendingError(fd) != 0 { close() }
    }

    /// Reads, then writes what the input queued for this connection at once rather than in the loop's flush (as
    /// uWebSockets uncorks after a read): one `send` per read event while the socket is warm in the cache. Holding
    /// `flushScheduled` meanwhile keeps the input from queueing a flush; output for others still waits for it.
    private func readAndAnswer() {
        let (queued, answering, lending) = (flushScheduled, phase != .draining && phase != .lingering, outbound.capacity == 0)
        flushScheduled = true
        let ingested = EventLoop.readAvailable(fd, into: loop.readBuffer) { chunk in  // no loop retained
            switch chunk {
            case .bytes(let bytes):
                sawTraffic = true
                ingest(bytes)
                return phase != .closed && !readingPaused
            case .endOfInput:
                // On an open WebSocket a TCP close without a close frame: RFC 6455 calls it abnormal (1006), unanswered.
                if phase == .webSocket { logger.debug("peer closed without a close frame", metadata: ["fd": "\(fd)"]) }
                close()
            case .failed(let error):
                logger.debug("read failed, closing", metadata: ["fd": "\(fd)", "error": "\(error)"])
                close()
            }
            return false
        }
        flushScheduled = queued
        if ingested && answering && phase != .closed, pendingOutputBytes > 0 || closeWhenFlushed && phase == .draining {
            writeQueued()
        }
        if lending && outbound.capacity > 0 && outbound.isEmpty { owner.tradeSpare(&outbound) }  // the spare goes back
    }

    /// Feeds freshly read bytes through the layers. Bytes a layer cannot consume yet are kept in `inbound`.
    func ingest(_ bytes: UnsafeMutableRawBufferPointer) {
        if phase == .lingering || phase == .draining { return }
        if inbound.isEmpty {
            let consumed = isTLS ? processCiphertext(bytes) : processPlaintext(bytes)
            if consumed < bytes.count && phase != .closed {
                inbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[consumed...]))
            }
        } else {
            inbound.append(contentsOf: UnsafeRawBufferPointer(bytes))
            let consumed = inbound.withUnsafeMutableBytes { isTLS ? processCiphertext($0) : processPlaintext($0) }
            if phase != .closed { inbound.removeFirst(consumed) }
        }
        if inbound.isEmpty && inbound.capacity > 0 { inbound = [] }
        requestFlushIfNeeded()
    }

    // MARK: Closing

    /// Closes the socket now and releases the connection. Safe to call more than once.
    func close() {
        guard phase != .closed else { return }
        handoffGeneration &+= 1
        let (session, wasTLS) = (phoenix, isTLS)
        state = .closed
        Unmanaged.passUnretained(owner)._withUnsafeGuaranteedRef { owner in  // it outlives us: no retain per call
            owner.context.countOpen(-1, tls: wasTLS, admin: isAdmin || isAPI)
            owner.closeSocket(fd)
            owner.remove(self)
        }
        session?.connectionClosed()
    }

    /// Writes what is queued, then shuts our write side and discards input until the peer closes (or a short
    /// deadline). With `lingering` false it closes as soon as the output is out instead: for a peer that will send
    /// nothing more, so no unread input can turn the close into a reset that destroys the last bytes in flight.
    func closeAfterFlush(lingering: Bool = true) {
        guard phase != .closed, phase != .lingering else { return }
        handoffGeneration &+= 1
        state = .draining(state.application)
        afterFlush = lingering ? .linger : .close
        requestFlushIfNeeded(force: true)
    }

    /// Called by the flush once `closeWhenFlushed` output is fully written.
    func beginLingering() {
        guard case .draining(let application) = state else { return }
        // The close sends the held last bytes with the FIN, unless the socket may be shared with a new process.
        if afterFlush == .close && owner.closesSocketsAtOnce { return close() }
        handoffGeneration &+= 1
        state = .lingering(application)
        shutdown(fd, Int32(SHUT_WR))
        deadline = context.clock.nowMilliseconds() + Self.closingGraceMilliseconds
        if !inbound.isEmpty { inbound = [] }
        if !plainInbound.isEmpty { plainInbound = [] }
    }
}
