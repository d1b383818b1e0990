import Histogram

/// What the channel scenarios (`broadcast`, `presence-burst`, `chat`) measured in one loop, one process or a whole run;
/// merges exactly and crosses process boundaries as JSON, like ``RunResult``.
struct ChannelResult: FleetResult, Sendable {
    var connectionsRequested = 0
    var connectionsOpened = 0
    /// Connections whose `phx_join` got an ok reply.
    var joined = 0
    var connectFailures = 0
    /// Joins refused or unanswered.
    var joinFailures = 0
    var unexpectedCloses = 0
    var protocolViolations = 0
    /// Error replies to chat messages (rate limit, validation, storage), and `phx_error` / `phx_close` pushes.
    var errorReplies = 0
    /// Frames that were not a Phoenix 2.0.0 array, or a `new_msg` without our timestamp.
    var badFrames = 0
    /// Connections meant to use TLS, those that opened (TLS and WebSocket handshakes done) and joined.
    var tlsConnections = 0
    var tlsOpened = 0
    var tlsJoined = 0
    /// First connect attempt, and the last join reply (broadcast) or handshake (presence-burst).
    var connectStartNanoseconds: UInt64 = .max
    var readyNanoseconds: UInt64 = 0

    // broadcast
    var subscribers = 0
    var messagesSent: UInt64 = 0
    /// Ok replies to chat messages (each one is durable and was broadcast).
    var messagesAcked: UInt64 = 0
    /// `new_msg` deliveries to subscribers received inside the window, and in the whole run.
    var deliveriesMeasured: UInt64 = 0
    var deliveriesTotal: UInt64 = 0
    /// `new_msg` deliveries to the publishers themselves (they are room members too).
    var publisherDeliveries: UInt64 = 0
    /// Subscriber deliveries in each second of the window.
    var perSecond: [UInt64] = []
    /// Send time to receipt at each subscriber (in the window), and send time to the publisher's ok reply.
    var fanoutLatency: [RunResult.Bucket] = []
    /// The part of `fanoutLatency` measured at TLS connections.
    var fanoutLatencyTLS: [RunResult.Bucket] = []
    var ackLatency: [RunResult.Bucket] = []

    // presence-burst
    var members = 0
    /// Frames and payload bytes received by all clients from the first join on.
    var framesReceived: UInt64 = 0
    var bytesReceived: UInt64 = 0
    /// The same messages' text after decompression (equal to `bytesReceived` without permessage-deflate).
    var textBytesReceived: UInt64 = 0
    /// Compressed bodies decoded by inflating, and served from the loop's ``InflateCache``.
    var inflated: UInt64 = 0
    var inflateCacheHits: UInt64 = 0
    var presenceStates: UInt64 = 0
    var presenceDiffs: UInt64 = 0
    /// Members whose view held every expected user.
    var membersComplete = 0
    var firstJoinSentNanoseconds: UInt64 = .max
    var lastJoinReplyNanoseconds: UInt64 = 0
    var lastCompleteNanoseconds: UInt64 = 0
    /// `phx_join` sent to its reply.
    var joinLatency: [RunResult.Bucket] = []
    /// A probe's rejoin sent to its `presence_diff` received, per member and probe.
    var probeLatency: [RunResult.Bucket] = []

    // chat
    /// Ok replies per sending user number.
    var chatAcked: [Int: UInt64] = [:]
    /// Per sender: the number of its last message, the numbers that never got an ok reply (in flight when its
    /// connection dropped, or refused), and how many receivers saw which ``ReceiverView`` of it (receivers that
    /// got nothing from a room member have the empty view).
    var chatSent: [Int: UInt64] = [:]
    var chatUnacknowledged: [Int: [UInt64]] = [:]
    var chatViews: [Int: [ReceiverView: Int]] = [:]
    /// Deliveries of an older message (already received, or filling a gap); see ``SequenceChecker``.
    var duplicated: UInt64 = 0
    var reordered: UInt64 = 0
    /// `presence_diff` frames received once traffic began (every join was answered before).
    var lateDiffs: UInt64 = 0
    /// upgrade: the figures per upgrade, once the loops were told the upgrades' times.
    var upgradeTally: PhaseTally?

    // chat with reconnect (see `ChannelClient+Reconnect.swift`)
    /// Connections lost while joined (or rejoining) and replaced; members that left on purpose (soak churn).
    var drops = 0
    var churns = 0
    /// Rejoins answered ok after a drop or churn, and their time from the drop (or the close) to the ok reply.
    var reconnects = 0
    var reconnectLatency: [RunResult.Bucket] = []
    /// Reconnect attempts that failed (refused, reset, handshake failed) and were retried after the backoff.
    var reconnectAttemptsFailed = 0
    /// Rejoins refused by the server (retried after phoenix.js's rejoin backoff), and rejoins answered with
    /// `recovered: false` (history no longer reached back to `last_seen_id`).
    var rejoinRefusals = 0
    var recoveryIncomplete = 0
    /// Deliveries of messages a rejoin recovered (ids up to the rejoin reply's `last_id`).
    var recoveredDeliveries: UInt64 = 0
    /// Duplicates of a message whose id was within the receiver's last rejoin reply's `last_id`: the second copy
    /// of a message both replayed by the rejoin and broadcast live (part of `duplicated`).
    var duplicatedWithinRejoin: UInt64 = 0
    /// Members still not joined again when the run ended.
    var notRejoined = 0

    // soak (see `ChannelClient+Churn.swift`)
    /// `presence_diff` frames received while an upgrade was under way (churn is held off then: each is a flap).
    var upgradeDiffs: UInt64 = 0
    /// Typing notices sent and received.
    var typingSent: UInt64 = 0
    var typingReceived: UInt64 = 0
    /// Witnesses (other members of the room in the same loop) that saw a churned user leave and join again, and
    /// those that missed the leave or the join.
    var churnSeen = 0
    var churnMissed = 0

    var errorSamples: [String: Int] = [:]

    /// Whether anything went wrong that makes the numbers untrustworthy.
    var hasFailures: Bool {
        connectFailures + joinFailures + unexpectedCloses + protocolViolations + errorReplies + badFrames
            + rejoinRefusals + recoveryIncomplete + notRejoined > 0
            || connectionsOpened < connectionsRequested
    }

    mutating func merge(_ other: ChannelResult) {
        connectionsRequested += other.connectionsRequested
        connectionsOpened += other.connectionsOpened
        joined += other.joined
        connectFailures += other.connectFailures
        joinFailures += other.joinFailures
        unexpectedCloses += other.unexpectedCloses
        protocolViolations += other.protocolViolations
        errorReplies += other.errorReplies
        badFrames += other.badFrames
        tlsConnections += other.tlsConnections
        tlsOpened += other.tlsOpened
        tlsJoined += other.tlsJoined
        connectStartNanoseconds = min(connectStartNanoseconds, other.connectStartNanoseconds)
        readyNanoseconds = max(readyNanoseconds, other.readyNanoseconds)
        subscribers += other.subscribers
        messagesSent += other.messagesSent
        messagesAcked += other.messagesAcked
        deliveriesMeasured += other.deliveriesMeasured
        deliveriesTotal += other.deliveriesTotal
        publisherDeliveries += other.publisherDeliveries
        if perSecond.count < other.perSecond.count {
            perSecond.append(contentsOf: repeatElement(0, count: other.perSecond.count - perSecond.count))
        }
        for (index, count) in other.perSecond.enumerated() { perSecond[index] += count }
        fanoutLatency = ChannelResult.merged(fanoutLatency, other.fanoutLatency)
        fanoutLatencyTLS = ChannelResult.merged(fanoutLatencyTLS, other.fanoutLatencyTLS)
        ackLatency = ChannelResult.merged(ackLatency, other.ackLatency)
        members += other.members
        framesReceived += other.framesReceived
        bytesReceived += other.bytesReceived
        textBytesReceived += other.textBytesReceived
        inflated += other.inflated
        inflateCacheHits += other.inflateCacheHits
        presenceStates += other.presenceStates
        presenceDiffs += other.presenceDiffs
        membersComplete += other.membersComplete
        firstJoinSentNanoseconds = min(firstJoinSentNanoseconds, other.firstJoinSentNanoseconds)
        lastJoinReplyNanoseconds = max(lastJoinReplyNanoseconds, other.lastJoinReplyNanoseconds)
        lastCompleteNanoseconds = max(lastCompleteNanoseconds, other.lastCompleteNanoseconds)
        joinLatency = ChannelResult.merged(joinLatency, other.joinLatency)
        probeLatency = ChannelResult.merged(probeLatency, other.probeLatency)
        chatAcked.merge(other.chatAcked, uniquingKeysWith: +)
        chatSent.merge(other.chatSent, uniquingKeysWith: max)
        chatUnacknowledged.merge(other.chatUnacknowledged, uniquingKeysWith: +)
        for (sender, views) in other.chatViews { chatViews[sender, default: [:]].merge(views, uniquingKeysWith: +) }
        drops += other.drops
        churns += other.churns
        reconnects += other.reconnects
        reconnectLatency = ChannelResult.merged(reconnectLatency, other.reconnectLatency)
        reconnectAttemptsFailed += other.reconnectAttemptsFailed
        rejoinRefusals += other.rejoinRefusals
        recoveryIncomplete += other.recoveryIncomplete
        recoveredDeliveries += other.recoveredDeliveries
        duplicatedWithinRejoin += other.duplicatedWithinRejoin
        notRejoined += other.notRejoined
        upgradeDiffs += other.upgradeDiffs
        typingSent += other.typingSent
        typingReceived += other.typingReceived
        churnSeen += other.churnSeen
        churnMissed += other.churnMissed
        duplicated += other.duplicated
        reordered += other.reordered
        lateDiffs += other.lateDiffs
        if let tally = other.upgradeTally {
            if upgradeTally == nil { upgradeTally = tally } else { upgradeTally?.merge(tally) }
        }
        for (message, count) in other.errorSamples { noteError(message, count: count) }
    }

    /// Records an error message, keeping at most a handful of distinct ones.
    mutating func noteError(_ message: String, count: Int = 1) {
        if errorSamples[message] != nil || errorSamples.count < 8 {
            errorSamples[message, default: 0] += count
        }
    }

    /// chat: acknowledged messages some receiver in the sender's room never got, over all (sender, receiver) pairs.
    var lost: UInt64 {
        ReceiverView.lost(views: chatViews, through: chatSent, unacknowledged: chatUnacknowledged)
    }

    /// chat: messages sent that never got an ok reply (in flight when a connection dropped, or refused).
    var unacknowledged: Int {
        chatUnacknowledged.values.reduce(0) { $0 + $1.count }
    }

    /// chat: the unacknowledged messages that reached every receiver anyway (committed before the crash, say).
    var unacknowledgedDelivered: Int {
        var count = 0
        for (sender, numbers) in chatUnacknowledged {
            let views = chatViews[sender] ?? [:]
            count += numbers.count { number in !views.isEmpty && views.keys.allSatisfy { $0.has(number) } }
        }
        return count
    }

    static func histogram(_ buckets: [RunResult.Bucket]) -> Histogram<UInt64> {
        var histogram = RunResult.emptyHistogram()
        for bucket in buckets { _ = histogram.record(bucket.value, count: bucket.count) }
        return histogram
    }

    /// The buckets of both histograms together.
    static func merged(_ a: [RunResult.Bucket], _ b: [RunResult.Bucket]) -> [RunResult.Bucket] {
        var histogram = histogram(a)
        histogram.add(self.histogram(b))
        return RunResult.buckets(of: histogram)
    }
}
