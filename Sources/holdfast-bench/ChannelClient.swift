import Histogram
import HoldfastCore
import Synchronization

/// One loop's share of a channel scenario: its connections, their Phoenix state and the counts.
///
/// Thread ownership: everything but `progress` is confined to `loop`'s thread, as in ``LoopClient``.
final class ChannelClient: ConnectionOwner, @unchecked Sendable {
    /// Per-connection state, indexed by ``ClientConnection/tag``.
    struct Member {
        var role: ChannelRole
        var user: String
        var joinSentAt: UInt64 = 0
        var joined = false
        // presence-burst: the users this member's view holds, as a bitset over user numbers.
        var seen: [UInt64] = []
        var seenCount = 0
        var complete = false
        // publisher: the next message ref and the send time of each unanswered one.
        var nextRef: UInt64 = 2
        var pending: [UInt64: UInt64] = [:]
        /// The number in the user name (`c12` → 12): numbers connections over all processes.
        var number = 0
        // chat: room, messages sent and acknowledged, and the check of what it received.
        var room = 0
        var sequence: UInt64 = 0
        var acked: UInt64 = 0
        var checker = SequenceChecker()
        // chat with reconnect: the highest room message id received (the rejoin's `last_seen_id`), the numbers
        // that never got an ok reply, and the state of a reconnect (see `ChannelClient+Reconnect.swift`).
        // A chatter's message with ref R is its message number R - 1: both advance with every `new_msg` sent
        // and refs are never reused, not even on a new connection.
        var lastSeenID: UInt64 = 0
        /// chat without reconnect: the highest room message id delivered live; every later one must be higher,
        /// so that all members, on whatever node, see the room's messages in one order.
        var lastDeliveredID: UInt64 = 0
        /// The `last_id` of the last rejoin's reply: messages up to it arriving after the rejoin are recovered ones.
        var recoverThrough: UInt64 = 0
        var unacknowledged: [UInt64] = []
        /// When the connection dropped or the member left (0 while connected and joined, or never joined).
        var droppedAt: UInt64 = 0
        var reconnectTries = 0
        var rejoinTries = 0
        /// Churn: sends nothing more and leaves once its last message is answered.
        var leaving = false
        /// When the member last joined (or rejoined) its room: a churn witness must have been there before.
        var joinedAt: UInt64 = 0
    }

    let loop: EventLoop
    let progress = Mutex(ChannelProgress())
    /// Connections this loop opens.
    let memberCount: Int
    let plan: ChannelPlan
    var members: [Member]
    var connections: [ClientConnection] = []
    /// The connection of each member, by member index (nil when it never got one).
    var slots: [ClientConnection?]
    var subscribersJoined = 0
    var publishers: [Int] = []
    var result = ChannelResult()
    /// Decodes compressed messages (``ChannelPlan/deflate``), each distinct body once.
    let inflateCache = InflateCache()
    var fanout = RunResult.emptyHistogram()
    /// The deliveries of `fanout` that reached a TLS connection.
    var fanoutTLS = RunResult.emptyHistogram()
    var acks = RunResult.emptyHistogram()
    var joins = RunResult.emptyHistogram()
    /// presence-burst: from a ``PresenceProbe`` rejoin to its diff at each member.
    var probeLatency = RunResult.emptyHistogram()
    /// chat with reconnect: from a drop (or a churn's close) to the rejoin's ok reply.
    var reconnectLatency = RunResult.emptyHistogram()
    var window: Window?
    /// upgrade: every message's send time and every failure's time, until `phases` says how to sort them.
    var timeline: Timeline?
    var phases: UpgradePhases?
    var random = SplitMix()
    var handshaking = 0
    var skipped = 0
    var live = 0
    var began = false
    /// Set once every process has finished measuring, before any closes: the presence_diffs the closing
    /// connections of other processes cause are the run's end, not a broken guarantee.
    var quieted = false
    var closing = false
    // presence-burst: the next member to join and the joins awaiting their reply.
    var nextJoin = 0
    var joinsInProgress = 0
    var sequence = 0
    var heartbeatTick = 0
    /// chat with reconnect: members with `droppedAt` set.
    var reconnecting = 0
    /// soak (see `ChannelClient+Churn.swift`): churn held off around upgrades, churn owed from earlier ticks,
    /// whether an upgrade is under way (any presence_diff then is a flap), and the churned users whose leave and
    /// join this loop's other members of the room must see.
    var churnPaused = false
    var churnCarry = 0.0
    var upgradeWindow = false
    var churnWatches: [Int: ChurnWatch] = [:]
    var watchedRooms: [Int: Int] = [:]
    let joinFrame: [UInt8]

    init(loop: EventLoop, plan: ChannelPlan, users: [(ChannelRole, String)]) {
        self.loop = loop
        self.plan = plan
        let words = (plan.expectedMembers + 63) / 64
        members = users.map { role, user in
            var member = Member(
                role: role, user: user, seen: role == .member ? [UInt64](repeating: 0, count: words) : [])
            member.number = Int(user.dropFirst()) ?? 0
            if role == .chatter { member.room = member.number % max(1, plan.rooms) }
            return member
        }
        slots = Array(repeating: nil, count: users.count)
        memberCount = users.count
        joinFrame = Array("[\"1\",\"1\",\(ChannelClient.quoted(plan.topic)),\"phx_join\",{\"device\":\"bench\"}]".utf8)
        result.connectionsRequested = users.count
        result.subscribers = users.count { $0.0 == .subscriber }
        result.members = users.count { $0.0 == .member }
        if let tls = plan.tls { result.tlsConnections = members.count { tls.selects($0.number) } }
        if plan.timeline { timeline = Timeline() }
    }

    func nextMaskKey() -> UInt32 { UInt32(truncatingIfNeeded: random.next()) }

    // MARK: Connecting

    /// Starts connections until `concurrency` are in progress; called again as each one settles.
    func startConnecting() {
        // A raw relay would pass heartbeats on to every client as if they were messages.
        if connections.isEmpty && skipped == 0 && !plan.raw { scheduleHeartbeats() }
        while handshaking < plan.concurrency, connections.count + skipped < members.count {
            let index = connections.count + skipped
            result.connectStartNanoseconds = min(result.connectStartNanoseconds, MonotonicClock.nowNanoseconds())
            switch openConnection(index) {
            case .failure(let error):
                fail(index: index, "\(error)")
            case .success(let connection):
                connections.append(connection)
                handshaking += 1
            }
        }
        publishProgress()
    }

    /// Starts member `index`'s connection and makes it the member's slot; fails when the socket cannot even be
    /// started.
    func openConnection(_ index: Int) -> Result<ClientConnection, BenchError> {
        let tlsMix = plan.tls.flatMap { $0.selects(members[index].number) ? $0 : nil }
        let node = plan.node(of: members[index].number)
        let target = tlsMix?.target(node: node) ?? plan.endpoint(node: node)
        let fd: Int32
        switch target.startConnect() {
        case .failure(let error): return .failure(BenchError("\(error)"))
        case .success(let socket): fd = socket
        }
        let separator = target.path.contains("?") ? "&" : "?"
        let path =
            plan.raw
            ? target.path
            : target.path + separator + "vsn=2.0.0&token=" + plan.signer.token(user: members[index].user)
        // Compressed messages are decoded whole, and with churn the presence_diffs (many users each) are read.
        let whole = members[index].role == .member || plan.deflate || plan.churnPerMinute > 0
        let retain = whole ? Int(Int32.max) : 512
        let connection: ClientConnection
        do {
            connection = ClientConnection(
                owner: self, fd: fd,
                handshake: Handshake(target: target, path: path, offerDeflate: plan.deflate, random: &random),
                tls: try tlsMix?.client(to: target), retainLimit: retain)
            connection.tag = index
            try loop.register(fd: fd, interest: .writable, handler: connection)
        } catch {
            Socket.close(fd)
            return .failure(BenchError("\(error)"))
        }
        slots[index] = connection
        live += 1
        return .success(connection)
    }

    func fail(index: Int, _ reason: String) {
        result.connectFailures += 1
        result.noteError(reason)
        skipped += 1
    }

    /// Fails every connection (or join, for broadcast) still in progress, and every one not yet started.
    func abandonPending() {
        let unstarted = members.count - connections.count - skipped
        if unstarted > 0 {
            result.connectFailures += unstarted
            result.noteError("not started before the connect timeout", count: unstarted)
            skipped += unstarted
        }
        for connection in connections where connection.state == .connecting || connection.state == .handshaking {
            connection.fail("handshake timed out")
        }
        if plan.scenario != .presenceBurst {
            for connection in connections where connection.state == .open && !members[connection.tag].joined {
                result.joinFailures += 1
                result.noteError("join not answered before the connect timeout")
                connection.terminate()
            }
        }
        publishProgress()
    }

    func publishProgress() {
        let settled =
            plan.scenario != .presenceBurst
            ? result.joined + result.connectFailures + result.joinFailures
            : result.connectionsOpened + result.connectFailures
        let snapshot = (
            settled, live, publishers.reduce(0) { $0 + members[$1].pending.count }, result.messagesAcked,
            result.deliveriesTotal, result.membersComplete
        )
        let joinable = result.members - result.joinFailures - result.connectFailures
        let joinedSubscribers = subscribersJoined
        let reconnecting = self.reconnecting
        progress.withLock {
            $0.reconnecting = reconnecting
            $0.settled = snapshot.0
            $0.live = snapshot.1
            $0.pendingAcks = snapshot.2
            $0.acked = snapshot.3
            $0.deliveries = snapshot.4
            $0.membersComplete = snapshot.5
            $0.membersJoinable = joinable
            $0.subscribersJoined = joinedSubscribers
        }
    }

    // MARK: Connection callbacks

    func connectionOpened(_ connection: ClientConnection) {
        if members[connection.tag].droppedAt != 0 {
            reopened(connection)
            return
        }
        result.connectionsOpened += 1
        if connection.isTLS { result.tlsOpened += 1 }
        if plan.scenario != .presenceBurst {
            // The handshake slot stays taken until the join is answered; a raw connection is in the room once open.
            if plan.raw { rawOpened(connection) } else { sendJoin(connection) }
            return
        }
        handshaking -= 1
        result.readyNanoseconds = max(result.readyNanoseconds, MonotonicClock.nowNanoseconds())
        startConnecting()
    }

    func connectionFailed(_ connection: ClientConnection, reason: String) {
        if members[connection.tag].droppedAt != 0 {
            reconnectFailed(connection, reason: reason)
            return
        }
        handshaking -= 1
        result.connectFailures += 1
        result.noteError(reason)
        startConnecting()
    }

    func connectionLost(_ connection: ClientConnection, reason: String, violation: Bool) {
        if shouldReconnect(connection) {
            dropped(connection, reason: reason, violation: violation)
            return
        }
        if violation { result.protocolViolations += 1 } else { result.unexpectedCloses += 1 }
        timeline?.closes.append(MonotonicClock.nowNanoseconds())
        result.noteError(reason)
        let member = members[connection.tag]
        if !member.joined, member.joinSentAt != 0 {
            joinSettled(connection, ok: false, reason: "connection lost during join")
        }
    }

    func connectionTerminated(_ connection: ClientConnection) {
        live -= 1
        if slots[connection.tag] === connection, members[connection.tag].droppedAt != 0 {
            closedAfterLeaving(connection)
        }
        publishProgress()
    }

    // MARK: Joining

    func sendJoin(_ connection: ClientConnection) {
        members[connection.tag].joinSentAt = MonotonicClock.nowNanoseconds()
        result.firstJoinSentNanoseconds = min(result.firstJoinSentNanoseconds, members[connection.tag].joinSentAt)
        connection.sendText(joinFrame(connection.tag))
    }

    /// presence-burst: sends joins until `joinConcurrency` are awaiting their reply.
    func startJoins() {
        while joinsInProgress < plan.joinConcurrency, nextJoin < connections.count {
            let connection = connections[nextJoin]
            nextJoin += 1
            guard connection.state == .open else { continue }
            joinsInProgress += 1
            sendJoin(connection)
        }
    }

    func joinFrame(_ index: Int) -> [UInt8] {
        guard members[index].role == .chatter else { return joinFrame }
        let topic = ChannelClient.quoted(ChannelPlan.chatTopic(members[index].room))
        // A rejoin asks for what was missed since the last message received, as a phoenix.js app would.
        let lastSeen = members[index].droppedAt != 0 ? ",\"last_seen_id\":\(members[index].lastSeenID)" : ""
        return Array("[\"1\",\"1\",\(topic),\"phx_join\",{\"device\":\"bench\"\(lastSeen)}]".utf8)
    }

    func topic(_ index: Int) -> String {
        members[index].role == .chatter ? ChannelPlan.chatTopic(members[index].room) : plan.topic
    }

    func joinSettled(_ connection: ClientConnection, ok: Bool, reason: String) {
        let now = MonotonicClock.nowNanoseconds()
        if members[connection.tag].droppedAt != 0 {
            rejoinSettled(connection, ok: ok, reason: reason, now: now)
            return
        }
        if ok {
            members[connection.tag].joined = true
            result.joined += 1
            if connection.isTLS { result.tlsJoined += 1 }
            if members[connection.tag].role == .subscriber { subscribersJoined += 1 }
            _ = joins.record(min(now - members[connection.tag].joinSentAt, RunResult.maximumLatency))
        } else {
            result.joinFailures += 1
            result.noteError(reason)
        }
        result.lastJoinReplyNanoseconds = max(result.lastJoinReplyNanoseconds, now)
        switch plan.scenario {
        case .broadcast, .chat:
            handshaking -= 1
            result.readyNanoseconds = max(result.readyNanoseconds, now)
            let role = members[connection.tag].role
            if ok, role == .publisher || role == .chatter { publishers.append(connection.tag) }
            if ok { members[connection.tag].joinedAt = now }
            startConnecting()
        case .presenceBurst:
            joinsInProgress -= 1
            startJoins()
            publishProgress()
        }
    }

    // MARK: Heartbeats

    /// Every second, a thirtieth of the connections send a heartbeat: each one every 30 s, as Phoenix clients do.
    func scheduleHeartbeats() {
        loop.schedule(afterMilliseconds: 1000) { [self] in
            guard !closing else { return }
            heartbeatTick += 1
            let frame = Array("[null,\"0\",\"phoenix\",\"heartbeat\",{}]".utf8)
            var index = heartbeatTick % 30
            while index < slots.count {
                slots[index]?.sendText(frame)
                index += 30
            }
            scheduleHeartbeats()
        }
    }

    // MARK: Traffic

    /// Arms the scenario for `window`: broadcast publishers send from `warmupStart` to `measureEnd`;
    /// presence-burst members start joining at `warmupStart`.
    func begin(_ window: Window) {
        self.window = window
        timeline?.measured = Span(start: window.measureStart, end: window.measureEnd)
        let seconds = (window.measureEnd - window.measureStart + 999_999_999) / 1_000_000_000
        result.perSecond = Array(repeating: 0, count: Int(seconds))
        loop.schedule(afterMilliseconds: delay(until: window.warmupStart)) { [self] in
            began = true
            switch plan.scenario {
            case .presenceBurst:
                startJoins()
            case .broadcast, .chat:
                if plan.churnPerMinute > 0 { scheduleChurn() }
                if plan.rate != nil {
                    tick()
                } else {
                    for publisher in publishers {
                        for _ in 0..<plan.inFlight { send(from: publisher, timestamp: MonotonicClock.nowNanoseconds()) }
                    }
                }
            }
        }
    }

    /// Open loop: sends every message whose scheduled time has come, stamped with that time (see the echo tick).
    func tick() {
        guard let rate = plan.rate, rate > 0, let window, !publishers.isEmpty else { return }
        let interval = 1e9 / rate
        let now = MonotonicClock.nowNanoseconds()
        var due = window.warmupStart + UInt64(Double(sequence) * interval)
        while due <= now, due < window.measureEnd {
            send(from: publishers[sequence % publishers.count], timestamp: due)
            sequence += 1
            due = window.warmupStart + UInt64(Double(sequence) * interval)
        }
        guard due < window.measureEnd else { return }
        loop.schedule(afterMilliseconds: max(1, delay(until: due))) { [self] in tick() }
    }

    func send(from index: Int, timestamp: UInt64) {
        // A member between connections (or leaving) sends nothing, as a client whose socket is down.
        guard let connection = slots[index], connection.state == .open, members[index].joined, !members[index].leaving
        else {
            return
        }
        let ref = members[index].nextRef
        members[index].nextRef += 1
        members[index].pending[ref] = timestamp
        if plan.raw {
            let number = members[index].number
            connection.sendText(RawBroadcast.message(publisher: number, ref: ref, sentAt: timestamp, size: plan.size))
            result.messagesSent += 1
            return
        }
        if plan.typingShare > 0, Double(random.next() >> 11) / Double(1 << 53) < plan.typingShare {
            sendTyping(index, on: connection)
        }
        var frame = Array("[\"1\",\"\(ref)\",\(ChannelClient.quoted(topic(index))),\"new_msg\",{".utf8)
        // chat: the body starts "<user>:<seq>:" and the message carries client_id "<user>:<seq>".
        var prefix: [UInt8] = []
        if members[index].role == .chatter {
            members[index].sequence += 1
            let id = "\(members[index].user):\(members[index].sequence)"
            frame.append(contentsOf: "\"client_id\":\"\(id)\",".utf8)
            prefix = Array((id + ":").utf8)
        }
        frame.append(contentsOf: "\"body\":\"".utf8)
        frame.append(contentsOf: prefix)
        let digits = Array("0123456789abcdef".utf8)
        for shift in stride(from: 60, through: 0, by: -4) {
            frame.append(digits[Int(timestamp >> UInt64(shift) & 0xF)])
        }
        frame.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: max(0, plan.size - 16 - prefix.count)))
        frame.append(contentsOf: "\"}]".utf8)
        connection.sendText(frame)
        result.messagesSent += 1
    }

    // MARK: Shutdown

    /// Publishes progress (acks and deliveries move without connection events).
    func refreshProgress() { publishProgress() }

    /// Starts the closing handshake on every connection and drops those still open after `timeout`.
    func closeAll(timeoutMilliseconds: Int64) {
        closing = true
        // Slots hold the current connection of every member (a reconnected one included).
        for connection in slots { connection?.close() }
        for connection in connections { connection.close() }
        loop.schedule(afterMilliseconds: timeoutMilliseconds) { [self] in
            for connection in slots { connection?.terminate() }
            for connection in connections { connection.terminate() }
        }
        publishProgress()
    }

    /// soak: publishes the counts so far (chat counts as of now, see ``addChatCounts(to:interim:)``) without
    /// stopping anything.
    func publishSample() {
        var snapshot = result
        snapshot.reconnectLatency = RunResult.buckets(of: reconnectLatency)
        snapshot.notRejoined = reconnecting
        addChatCounts(to: &snapshot, interim: true)
        progress.withLock { $0.sample = snapshot }
    }

    func publishResult() {
        var snapshot = result
        snapshot.fanoutLatency = RunResult.buckets(of: fanout)
        snapshot.fanoutLatencyTLS = RunResult.buckets(of: fanoutTLS)
        snapshot.ackLatency = RunResult.buckets(of: acks)
        snapshot.joinLatency = RunResult.buckets(of: joins)
        snapshot.probeLatency = RunResult.buckets(of: probeLatency)
        snapshot.reconnectLatency = RunResult.buckets(of: reconnectLatency)
        snapshot.notRejoined = reconnecting
        if plan.scenario == .chat { addChatCounts(to: &snapshot) }
        snapshot.upgradeTally = upgradeTally()
        progress.withLock { $0.result = snapshot }
    }

    /// chat: every joined member's acknowledged count, and what it received of every other member of its room.
    ///
    /// For a sample in the middle of a run (`interim`), messages still waiting for their reply count as
    /// unacknowledged, and members between connections report no view (they are about to recover what they
    /// lack).
    func addChatCounts(to snapshot: inout ChannelResult, interim: Bool = false) {
        let rooms = max(1, plan.rooms)
        for member in members where member.role == .chatter && (member.joined || member.droppedAt != 0) {
            snapshot.chatAcked[member.number, default: 0] += member.acked
            snapshot.chatSent[member.number] = member.sequence
            var unacknowledged = member.unacknowledged
            if interim { unacknowledged += member.pending.keys.map { $0 - 1 } }
            if !unacknowledged.isEmpty { snapshot.chatUnacknowledged[member.number] = unacknowledged }
            if interim && member.droppedAt != 0 { continue }
            for sender in stride(from: member.room, to: plan.users, by: rooms) where sender != member.number {
                snapshot.chatViews[sender, default: [:]][member.checker.view(from: sender), default: 0] += 1
            }
        }
    }

    func delay(until nanoseconds: UInt64) -> Int64 {
        let now = MonotonicClock.nowNanoseconds()
        guard nanoseconds > now else { return 0 }
        return Int64((nanoseconds - now + 999_999) / 1_000_000)
    }

    /// `text` as a JSON string literal (topics are plain ASCII; quotes and backslashes are escaped).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for character in text {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }
}
