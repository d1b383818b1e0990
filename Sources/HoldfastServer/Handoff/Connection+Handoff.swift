import HoldfastAPI
import HoldfastCore
import HoldfastHTTP
import HoldfastHandoff
import HoldfastRooms
import HoldfastTLS
import HoldfastWebSocket
import Logging

extension Connection: StageableConnection {
    /// Why this connection cannot be handed to a new process right now; nil when it can.
    ///
    /// A TLS handshake lives inside OpenSSL, a half-received request inside the HTTP parser's partial state and
    /// a half-received compressed message inside zlib mid-block: none of them can be carried, so a binary
    /// upgrade gives them a short grace period to finish (see ``endForHandoff()``); an API request moves as bytes.
    var handoffBlocker: String? {
        switch state {
        case .tlsHandshake: "TLS handshake in progress"
        case .http(let layer): !isAPI && layer?.parser.hasPartialRequest == true ? "HTTP request half received" : nil
        case .webSocket(let layer), .webSocketClosing(let layer):
            layer.webSocket.isExportable ? nil : "compressed message half received"
        case .draining, .lingering, .closed: nil
        }
    }

    /// The grace period is over and the connection still cannot move: drop a handshake (the client retries),
    /// answer a half-received request with 503, close a WebSocket mid-message with 1012 (service restart).
    /// The last two are then draining and move as such.
    func endForHandoff() {
        guard let reason = handoffBlocker else { return }
        logger.notice("binary upgrade: connection cannot be handed over, ending it",
            metadata: ["fd": "\(fd)", "reason": "\(reason)"])
        switch phase {
        case .tlsHandshake:
            close()
        case .http:
            respond(
                .plainText(.serviceUnavailable, "server restarting, retry", extraHeaders: [("Retry-After", "1")]),
                keepAlive: false)
        case .webSocket:
            closeWebSocket(code: .serviceRestart, reason: "server restarting")
        case .webSocketClosing, .draining, .lingering, .closed:
            break
        }
    }

    /// The connection's state for the new process, or nil if it cannot move (see ``handoffBlocker``). Seals any
    /// pending TLS plaintext first, so the record layer state exported is final. After this the connection must
    /// never be read or written again by this process.
    func handoffSnapshot(loopIndex: Int) -> ConnectionSnapshot? {
        var snapshotPhase: ConnectionSnapshot.Phase
        var webSocketState: WebSocketConnectionState?
        var closeWhenFlushed = self.closeWhenFlushed
        switch state {
        case .tlsHandshake, .closed:
            return nil
        case .http(let layer):
            guard isAPI || layer?.parser.hasPartialRequest != true else { return nil }
            snapshotPhase = .http
        case .webSocket(let layer):
            guard let exported = layer.webSocket.exportState() else { return nil }
            webSocketState = exported
            snapshotPhase = .webSocket
        case .webSocketClosing(let layer):
            // Our close frame is queued; if the parser cannot move, nothing more is parsed: just drain and close.
            if let exported = layer.webSocket.exportState() {
                webSocketState = exported
                snapshotPhase = .webSocketClosing
            } else {
                snapshotPhase = .draining
                closeWhenFlushed = true
            }
        case .draining:
            snapshotPhase = .draining
        case .lingering:
            snapshotPhase = .lingering
        }
        let application = state.application
        sealPendingPlaintext()
        return ConnectionSnapshot(
            loopIndex: loopIndex, isAdmin: isAdmin, isAPI: isAPI, overLimit: overLimit, phase: snapshotPhase,
            deadline: deadline,
            closeWhenFlushed: closeWhenFlushed, inbound: inbound, plainInbound: plainInbound,
            outbound: Array(outbound[outboundOffset...]), tls: tls?.exportState(),
            application: application?.session == nil ? .echo : .phoenix, webSocket: webSocketState,
            phoenix: application?.session?.snapshot(),
            awaitedPublish: awaitedPublish?.awaited)
    }

    /// The generations a copy is staged at (see `StagedGeneration`): one awaiting a publish (its rooms answer off
    /// the loop) is always sent again whole, one with output queued (its write moves no generation) at least its output.
    func stagedGeneration(updatable: Bool) -> StagedGeneration {
        StagedGeneration(
            state: awaitedPublish != nil ? .max : UInt64(handoffGeneration),
            output: pendingOutputBytes > 0 ? .max : UInt64(outputGeneration), updatable: updatable)
    }

    var isClosed: Bool { phase == .closed }
    /// What a round must send for this connection, staged at `generation`.
    func change(since generation: StagedGeneration) -> StagedChange {
        generation.change(
            state: UInt64(handoffGeneration), output: UInt64(outputGeneration), pendingOutput: pendingOutputBytes > 0)
    }

    /// Its output for the new process (queue, TLS record state, deadline), pending TLS plaintext sealed first; the
    /// rest of the connection is as staged. After this the connection must never be read or written again here.
    func handoffOutput() -> ConnectionOutput {
        sealPendingPlaintext()
        return ConnectionOutput(
            key: fd, deadline: deadline, outbound: Array(outbound[outboundOffset...]), tls: tls?.exportState())
    }

    /// A staged copy whose connection only wrote or queued output since it was staged (`snapshot` equals `staged`,
    /// the one it was built from, but for the output) takes that output in place, keeping its session and room
    /// joins; false when anything else changed (the caller then rebuilds it).
    func takeOutput(of snapshot: ConnectionSnapshot, stagedAs staged: ConnectionSnapshot) -> Bool {
        guard staged.differsOnlyInOutput(from: snapshot) else { return false }
        return (try? take(ConnectionOutput(key: fd, of: snapshot))) != nil
    }

    /// Takes a staged copy's new output (see ``ConnectionOutput``): the queue, the TLS record state that sealed it
    /// (its sequence numbers alone when the keys are the copy's, else imported whole; the decrypted input the copy
    /// holds stays), the deadline.
    func take(_ output: ConnectionOutput) throws(HandoffStateError) {
        guard (tls == nil) == (output.tls == nil) else {
            throw HandoffStateError(reason: "output of connection \(output.key) does not match its TLS")
        }
        if let state = output.tls, tls?.takeSequences(from: state) != true {
            guard let layer = try? TLSRecordLayer(importing: state) else {
                throw HandoffStateError(reason: "TLS record state of connection \(output.key)")
            }
            (layer.plainInbound, tls) = (plainInbound, layer)
        }
        (outbound, outboundOffset, outboundMarks, deadline) = (output.outbound, 0, OutboundMarks(), output.deadline)
    }

    /// Takes a staged copy's progress (see ``ConnectionProgress``): its output, the input not processed yet, the
    /// WebSocket's partly received message (its parser taken anew only when that moved) and the session's clocks;
    /// returns the snapshot the copy now matches.
    func take(_ progress: ConnectionProgress, stagedAs staged: ConnectionSnapshot) throws(HandoffStateError)
        -> ConnectionSnapshot
    {
        let updated = progress.applied(to: staged)
        guard progress.fits(staged), case .webSocket(let layer) = state,
            let webSocket = updated.webSocket
        else { throw HandoffStateError(reason: "progress of connection \(progress.key) does not fit its copy") }
        try take(progress.output)
        (inbound, plainInbound) = (progress.inbound, progress.plainInbound)
        if webSocket != staged.webSocket { layer.webSocket = WebSocketConnection(importing: webSocket) }
        if let session = phoenix, let clocks = updated.phoenix { session.state.takeClocks(of: clocks) }
        return updated
    }

    /// Drops a staged copy that a newer state replaced (or whose connection the old process closed): it leaves
    /// its loop's list and will never read, write or flush; its socket and room joins now belong to the
    /// replacement (or were closed by the caller), so nothing else is undone.
    func retireStagedCopy() {
        owner.remove(self)
        phoenix?.connectionClosed(leaveRooms: false)
        state = .closed
    }

    /// Rebuilds a connection handed over by the previous process on `fd`, owned by `loop`. The caller registers
    /// it with the loop and hands the returned members to the adopted rooms.
    static func adopt(
        fd: Int32, snapshot: ConnectionSnapshot, loop: EventLoop, context: ServerContext, owner: LoopConnections
    ) throws(HandoffStateError) -> (Connection, [RoomMember]) {
        let connection = Connection(
            fd: fd, owner: owner, tlsHandshake: nil, overLimit: snapshot.overLimit,
            isAdmin: snapshot.isAdmin, isAPI: snapshot.isAPI)
        if let state = snapshot.tls {
            do {
                connection.tls = try TLSRecordLayer(importing: state)
            } catch {
                throw HandoffStateError(reason: "TLS record state: \(error)")
            }
        }
        connection.deadline = snapshot.deadline
        connection.closeWhenFlushed = snapshot.closeWhenFlushed
        connection.inbound = snapshot.inbound
        connection.plainInbound = snapshot.plainInbound
        connection.outbound = snapshot.outbound
        if let awaited = snapshot.awaitedPublish {
            if case .http(let layer?) = connection.state { layer.api = APIRequestReader(awaitingAnswer: true) }
            let (target, loop) = (LoopBound(connection), loop)
            connection.awaitedPublish = PublishWait(resuming: awaited) { response in
                loop.execute { target.value?.answerAPI(response, keepAlive: awaited.keepAlive) }
            }
        }
        let webSocket = snapshot.webSocket.map(WebSocketConnection.init(importing:))
        if snapshot.phase == .webSocket || snapshot.phase == .webSocketClosing, webSocket == nil {
            throw HandoffStateError(reason: "\(snapshot.phase) without its WebSocket state")
        }
        var members: [RoomMember] = []
        let application: Application
        switch (snapshot.application, snapshot.phoenix) {
        case (.echo, nil):
            application = .echo
        case (.phoenix, let session?):
            let restored = PhoenixSession(
                connection: connection, connectionID: session.connectionID, user: session.user,
                version: session.version, limits: context.channelLimits)
            members = restored.restore(from: session)
            application = .phoenix(restored)
        case (.echo, .some):
            throw HandoffStateError(reason: "an echo connection with a Phoenix session")
        case (.phoenix, nil):
            throw HandoffStateError(reason: "a Phoenix connection without its session")
        }
        switch (snapshot.phase, webSocket) {
        case (.webSocket, let webSocket?):
            connection.state = .webSocket(WebSocketLayer(webSocket, serving: application))
        case (.webSocketClosing, let webSocket?):
            connection.state = .webSocketClosing(WebSocketLayer(webSocket, serving: application))
        case (.draining, _): connection.state = .draining(application)
        case (.lingering, _): connection.state = .lingering(application)
        case (.http, _), (.webSocket, nil), (.webSocketClosing, nil): break  // http: the fresh parser of `init`
        }
        return (connection, members)
    }
}
