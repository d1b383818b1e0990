import Histogram
import HoldfastCore

extension ChannelClient {
    // MARK: Receiving

    func messageReceived(_ connection: ClientConnection, binary: Bool, length: Int, prefix: FrameReader.Prefix) {
        let bytes = connection.retainedMessage
        if connection.messageCompressed {
            bytes.withUnsafeBytes { handleCompressed(connection, $0, length: length) }
        } else {
            bytes.withUnsafeBytes { handle(connection, $0, length: length) }
        }
        connection.releaseRetained()
    }

    /// A compressed message: presence pushes to a presence-burst member apply the effect cached with the decoded
    /// body (the same body reaches every member); anything else is handled as text.
    func handleCompressed(_ connection: ClientConnection, _ bytes: UnsafeRawBufferPointer, length: Int) {
        let before = inflateCache.misses
        guard let (prefix, body) = inflateCache.decode(bytes) else {
            if began { result.framesReceived += 1 }
            bad("compressed message that does not inflate")
            return
        }
        if began {
            if inflateCache.misses > before { result.inflated += 1 } else { result.inflateCacheHits += 1 }
        }
        let index = connection.tag
        // The envelope is in the stored prefix (a per-member push) or at the start of the body (a broadcast).
        let envelopeBytes = prefix.isEmpty ? body.text : prefix
        let parsed = envelopeBytes.withUnsafeBytes { bytes -> (PhoenixScan.Envelope, isState: Bool)? in
            guard let envelope = PhoenixScan.envelope(bytes) else { return nil }
            if PhoenixScan.equals(bytes, envelope.event, "presence_state") { return (envelope, true) }
            if PhoenixScan.equals(bytes, envelope.event, "presence_diff") { return (envelope, false) }
            return nil
        }
        guard members[index].role == .member, let (envelope, isState) = parsed,
            prefix.isEmpty || envelope.payload == prefix.count
        else {
            let text = prefix + body.text
            text.withUnsafeBytes { handle(connection, $0, length: length, textLength: text.count) }
            return
        }
        let now = MonotonicClock.nowNanoseconds()
        if began {
            result.framesReceived += 1
            result.bytesReceived += UInt64(length)
            result.textBytesReceived += UInt64(prefix.count + body.text.count)
        }
        if isState { result.presenceStates += 1 } else { result.presenceDiffs += 1 }
        let effect = presenceEffect(of: body, payloadAt: prefix.isEmpty ? envelope.payload : 0, state: isState)
        guard !effect.malformed else {
            bad(
                isState
                    ? "presence_state payload is not an object of benchmark users"
                    : "presence_diff without joins and leaves")
            return
        }
        var count = 0
        members[index].seen.withUnsafeMutableBufferPointer { seen in
            for word in 0..<seen.count {
                var value = seen[word]
                // Leaves first, then joins: a meta replaced within one diff leaves its key present.
                if let absent = effect.absent { value &= ~absent[word] }
                value |= effect.present[word]
                seen[word] = value
                count += value.nonzeroBitCount
            }
        }
        members[index].seenCount = count
        if let sentAt = effect.probeSentAt { probeSeen(sentAt: sentAt, now: now) }
        checkComplete(index, now: now)
    }

    /// The users a presence payload (at `payloadAt` in the body) adds and removes, computed once per body.
    private func presenceEffect(of body: InflateCache.Entry, payloadAt: Int, state: Bool) -> InflateCache.PresenceEffect
    {
        if let known = body.effects[payloadAt] { return known }
        let words = (plan.expectedMembers + 63) / 64
        var present = [UInt64](repeating: 0, count: words)
        var absent = [UInt64](repeating: 0, count: words)
        var malformed = false
        var probeSentAt: UInt64?
        let expected = UInt64(plan.expectedMembers)
        body.text.withUnsafeBytes { bytes in
            func mark(_ key: Range<Int>, _ set: inout [UInt64]) {
                if PhoenixScan.equals(bytes, key, "probe") { return }
                guard key.count > 1, bytes[key.lowerBound] == UInt8(ascii: "u"),
                    let number = PhoenixScan.decimal(bytes, (key.lowerBound + 1)..<key.upperBound), number < expected
                else {
                    malformed = true
                    return
                }
                set[Int(number / 64)] |= UInt64(1) << (number % 64)
            }
            if state {
                if !PhoenixScan.forEachMember(bytes, objectAt: payloadAt, { key, _ in mark(key, &present) }) {
                    malformed = true
                }
                return
            }
            var joinsAt: Int?
            var leavesAt: Int?
            let parsed = PhoenixScan.forEachMember(bytes, objectAt: payloadAt) { key, value in
                if PhoenixScan.equals(bytes, key, "joins") { joinsAt = value }
                if PhoenixScan.equals(bytes, key, "leaves") { leavesAt = value }
            }
            guard parsed, let joinsAt, let leavesAt else {
                malformed = true
                return
            }
            PhoenixScan.forEachMember(bytes, objectAt: leavesAt) { key, _ in mark(key, &absent) }
            PhoenixScan.forEachMember(bytes, objectAt: joinsAt) { key, value in
                mark(key, &present)
                if PhoenixScan.equals(bytes, key, "probe") {
                    probeSentAt = ChannelClient.probeStamp(bytes, from: value)
                }
            }
        }
        let effect = InflateCache.PresenceEffect(
            present: present, absent: state ? nil : absent, malformed: malformed, probeSentAt: probeSentAt)
        body.effects[payloadAt] = effect
        return effect
    }

    func handle(_ connection: ClientConnection, _ bytes: UnsafeRawBufferPointer, length: Int, textLength: Int? = nil) {
        let now = MonotonicClock.nowNanoseconds()
        let index = connection.tag
        if began {
            result.framesReceived += 1
            result.bytesReceived += UInt64(length)
            result.textBytesReceived += UInt64(textLength ?? length)
        }
        if plan.raw {
            handleRaw(connection, bytes, now: now)
            return
        }
        guard let envelope = PhoenixScan.envelope(bytes) else {
            bad("frame is not a Phoenix 2.0.0 message")
            return
        }
        if PhoenixScan.equals(bytes, envelope.topic, "phoenix") { return }
        if PhoenixScan.equals(bytes, envelope.event, "new_msg") {
            delivered(index, bytes, envelope, now: now)
        } else if PhoenixScan.equals(bytes, envelope.event, "phx_reply") {
            let ok = PhoenixScan.find(bytes, "\"status\":\"ok\"", from: envelope.payload) != nil
            guard let ref = envelope.ref else { return }
            if PhoenixScan.equals(bytes, ref, "1") {
                if members[index].joined { return }
                if ok, members[index].droppedAt != 0 { rejoinAnswered(index, bytes, envelope) }
                joinSettled(connection, ok: ok, reason: "join refused: " + excerpt(bytes, from: envelope.payload))
            } else if let number = PhoenixScan.decimal(bytes, ref),
                let sent = members[index].pending.removeValue(forKey: number)
            {
                acknowledged(
                    index, ref: number, ok: ok, sent: sent, now: now, refusal: excerpt(bytes, from: envelope.payload))
            }
        } else if PhoenixScan.equals(bytes, envelope.event, "presence_state") {
            guard members[index].role == .member else { return }
            result.presenceStates += 1
            if !PhoenixScan.forEachMember(
                bytes, objectAt: envelope.payload, { key, _ in see(index, bytes, key, present: true) })
            {
                bad("presence_state payload is not an object")
            }
            checkComplete(index, now: now)
        } else if PhoenixScan.equals(bytes, envelope.event, "presence_diff") {
            if began, !quieted, members[index].role == .chatter {
                result.lateDiffs += 1
                timeline?.presenceDiffs.append(now)
                if upgradeWindow { result.upgradeDiffs += 1 }
                if watchedRooms[members[index].room, default: 0] > 0 { churnDiff(index, bytes, envelope.payload) }
            }
            guard members[index].role == .member else { return }
            result.presenceDiffs += 1
            if let sentAt = applyDiff(index, bytes, envelope.payload) { probeSeen(sentAt: sentAt, now: now) }
            checkComplete(index, now: now)
        } else if PhoenixScan.equals(bytes, envelope.event, "typing") {
            result.typingReceived += 1
        } else if PhoenixScan.equals(bytes, envelope.event, "phx_error")
            || PhoenixScan.equals(bytes, envelope.event, "phx_close")
        {
            result.errorReplies += 1
            result.noteError("channel closed by the server")
        }
    }

    func delivered(_ index: Int, _ bytes: UnsafeRawBufferPointer, _ envelope: PhoenixScan.Envelope, now: UInt64) {
        switch members[index].role {
        case .member:
            return
        case .chatter:
            chatDelivered(index, bytes, envelope, now: now)
            return
        case .publisher:
            result.publisherDeliveries += 1
            return
        case .subscriber:
            break
        }
        guard let body = PhoenixScan.find(bytes, "\"body\":\"", from: envelope.payload),
            let stamp = PhoenixScan.hex16(bytes, at: body + 8), stamp <= now
        else {
            bad("new_msg without a benchmark timestamp")
            return
        }
        result.deliveriesTotal += 1
        recordDelivery(index, latency: now - stamp, now: now)
    }

    /// Counts and times a checked delivery to member `index` that arrived inside the window.
    func recordDelivery(_ index: Int, latency: UInt64, now: UInt64) {
        guard let window, now >= window.measureStart, now < window.measureEnd else { return }
        result.deliveriesMeasured += 1
        _ = fanout.record(min(latency, RunResult.maximumLatency))
        if slots[index]?.isTLS == true { _ = fanoutTLS.record(min(latency, RunResult.maximumLatency)) }
        let second = Int((now - window.measureStart) / 1_000_000_000)
        if second < result.perSecond.count { result.perSecond[second] += 1 }
    }

    /// chat: checks a `new_msg` body `c<sender>:<seq>:<send time>` against the receiver's ``SequenceChecker``;
    /// a member's own messages are counted apart and not checked.
    func chatDelivered(_ index: Int, _ bytes: UnsafeRawBufferPointer, _ envelope: PhoenixScan.Envelope, now: UInt64) {
        guard let body = PhoenixScan.find(bytes, "\"body\":\"", from: envelope.payload),
            let (sender, sequence, stamp) = ChannelClient.chatBody(bytes, at: body + 8), stamp <= now
        else {
            bad("new_msg without a chat benchmark body")
            return
        }
        let id = ChannelClient.messageID(bytes, from: envelope.payload)
        if let id {
            if id > members[index].lastSeenID { members[index].lastSeenID = id }
            if id <= members[index].recoverThrough { result.recoveredDeliveries += 1 }
        }
        // The room's ids are its one order (on a cluster, Redis's): a lower id after a higher one means this
        // member saw two messages in another order than the other members did. Rejoins replay, so only without
        // --reconnect.
        var outOfRoomOrder = false
        if let id, !plan.reconnect {
            outOfRoomOrder = id <= members[index].lastDeliveredID
            members[index].lastDeliveredID = max(members[index].lastDeliveredID, id)
        }
        if sender == members[index].number {
            result.publisherDeliveries += 1
            if outOfRoomOrder {
                result.reordered += 1
                timeline?.reorders.append(now)
            }
            return
        }
        guard sender % max(1, plan.rooms) == members[index].room else {
            bad("new_msg from a user of another room")
            return
        }
        switch members[index].checker.observe(sender: sender, sequence: sequence, sentAt: stamp) {
        case .inOrder where outOfRoomOrder:
            result.reordered += 1
            timeline?.reorders.append(now)
        case .inOrder:
            break
        case .duplicate:
            result.duplicated += 1
            timeline?.duplicates.append(now)
            noteDuplicate(index, sender: sender, sequence: sequence, id: id, now: now)
        case .reordered:
            result.reordered += 1
            timeline?.reorders.append(now)
        }
        timeline?.delivered(sentAt: stamp, latency: now - stamp)
        result.deliveriesTotal += 1
        recordDelivery(index, latency: now - stamp, now: now)
    }

    /// The ok reply to a rejoin: the messages up to its `last_id` that follow are recovered ones, and
    /// `recovered: false` means history no longer reached back to `last_seen_id`.
    func rejoinAnswered(_ index: Int, _ bytes: UnsafeRawBufferPointer, _ envelope: PhoenixScan.Envelope) {
        members[index].recoverThrough = ChannelClient.integer(bytes, key: "\"last_id\":", from: envelope.payload) ?? 0
        if PhoenixScan.find(bytes, "\"recovered\":false", from: envelope.payload) != nil {
            result.recoveryIncomplete += 1
            result.noteError("rejoin answered recovered: false")
        }
    }

    /// The room's id of a `new_msg` (`"id":N` in its payload at `start`).
    static func messageID(_ bytes: UnsafeRawBufferPointer, from start: Int) -> UInt64? {
        integer(bytes, key: "\"id\":", from: start)
    }

    /// The unsigned integer after the first `key` (a quoted name and its colon) from `start`.
    static func integer(_ bytes: UnsafeRawBufferPointer, key: StaticString, from start: Int) -> UInt64? {
        guard let at = PhoenixScan.find(bytes, key, from: start) else { return nil }
        var begin = at + key.utf8CodeUnitCount
        while begin < bytes.count, bytes[begin] == UInt8(ascii: " ") { begin += 1 }
        var end = begin
        while end < bytes.count, end - begin < 20, (48...57).contains(bytes[end]) { end += 1 }
        return PhoenixScan.decimal(bytes, begin..<end)
    }

    /// Says which message arrived twice, where, and whether a rejoin's replay was involved: enough to find the
    /// race in the server's log and code.
    func noteDuplicate(_ index: Int, sender: Int, sequence: UInt64, id: UInt64?, now: UInt64) {
        let member = members[index]
        let recovered = id.map { $0 <= member.recoverThrough } ?? false
        if recovered { result.duplicatedWithinRejoin += 1 }
        let since = member.joinedAt > 0 && now > member.joinedAt ? (now - member.joinedAt) / 1_000_000 : 0
        result.noteError(
            "duplicate c\(sender):\(sequence) (id \(id.map(String.init) ?? "?")) at c\(member.number), "
                + "\(since) ms after its last join, "
                + (recovered
                    ? "id within its rejoin reply's last_id \(member.recoverThrough)" : "id after its last rejoin"))
    }

    /// Parses `c<user>:<seq>:<16 hex digits>` at `start`.
    static func chatBody(_ bytes: UnsafeRawBufferPointer, at start: Int) -> (Int, UInt64, UInt64)? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "c") else { return nil }
        func field(from begin: Int) -> (UInt64, Int)? {
            var end = begin
            while end < bytes.count, end - begin <= 19, bytes[end] != UInt8(ascii: ":") { end += 1 }
            guard end < bytes.count, let value = PhoenixScan.decimal(bytes, begin..<end) else { return nil }
            return (value, end + 1)
        }
        guard let (user, afterUser) = field(from: start + 1), let (sequence, afterSequence) = field(from: afterUser),
            let stamp = PhoenixScan.hex16(bytes, at: afterSequence), user <= UInt64(Int.max)
        else { return nil }
        return (Int(user), sequence, stamp)
    }

    /// Counts publisher `index`'s message sent at `sent` as answered (`refusal` says why when not ok) and, in closed
    /// loop, sends the next one.
    func acknowledged(
        _ index: Int, ref: UInt64, ok: Bool, sent: UInt64, now: UInt64, refusal: @autoclosure () -> String
    ) {
        if ok {
            result.messagesAcked += 1
            members[index].acked += 1
            if let window, now >= window.measureStart, now < window.measureEnd {
                _ = acks.record(min(now > sent ? now - sent : 0, RunResult.maximumLatency))
            }
            timeline?.acknowledged(sentAt: sent, latency: now > sent ? now - sent : 0)
        } else {
            result.errorReplies += 1
            result.noteError("new_msg refused: " + refusal())
            if members[index].role == .chatter { members[index].unacknowledged.append(ref - 1) }
        }
        if members[index].leaving, members[index].pending.isEmpty { leave(index) }
        // Closed loop: an ok reply frees the slot for the next message; a refused one (e.g. rate limited) retires it.
        if ok, plan.rate == nil, let window, now < window.measureEnd { send(from: index, timestamp: now) }
    }

    /// Applies a diff's leaves, then its joins: a meta replaced in one diff leaves the key present. Returns the
    /// send time of a ``PresenceProbe`` join in it.
    @discardableResult
    func applyDiff(_ index: Int, _ bytes: UnsafeRawBufferPointer, _ payload: Int) -> UInt64? {
        var joinsAt: Int?
        var leavesAt: Int?
        let parsed = PhoenixScan.forEachMember(bytes, objectAt: payload) { key, value in
            if PhoenixScan.equals(bytes, key, "joins") { joinsAt = value }
            if PhoenixScan.equals(bytes, key, "leaves") { leavesAt = value }
        }
        guard parsed, let joinsAt, let leavesAt else {
            bad("presence_diff without joins and leaves")
            return nil
        }
        var probeSentAt: UInt64?
        PhoenixScan.forEachMember(bytes, objectAt: leavesAt) { key, _ in see(index, bytes, key, present: false) }
        PhoenixScan.forEachMember(bytes, objectAt: joinsAt) { key, value in
            see(index, bytes, key, present: true)
            if PhoenixScan.equals(bytes, key, "probe") { probeSentAt = ChannelClient.probeStamp(bytes, from: value) }
        }
        return probeSentAt
    }

    /// The send time in a probe's meta (`"device":"probe-<nanoseconds>"`) within the value at `start`.
    static func probeStamp(_ bytes: UnsafeRawBufferPointer, from start: Int) -> UInt64? {
        let pattern: StaticString = "\"device\":\"probe-"
        guard let end = PhoenixScan.skipValue(bytes, start),
            let at = PhoenixScan.find(bytes, pattern, from: start), at < end
        else { return nil }
        let digits = at + pattern.utf8CodeUnitCount
        var digitsEnd = digits
        while digitsEnd < end, bytes[digitsEnd] != UInt8(ascii: "\"") { digitsEnd += 1 }
        return PhoenixScan.decimal(bytes, digits..<digitsEnd)
    }

    /// A member received the diff of a probe sent at `sentAt`.
    func probeSeen(sentAt: UInt64, now: UInt64) {
        guard sentAt <= now else {
            bad("probe diff stamped in the future")
            return
        }
        _ = probeLatency.record(min(now - sentAt, RunResult.maximumLatency))
    }

    /// Marks user key `u<number>` present or absent in member `index`'s view.
    func see(_ index: Int, _ bytes: UnsafeRawBufferPointer, _ key: Range<Int>, present: Bool) {
        if PhoenixScan.equals(bytes, key, "probe") { return }
        guard key.count > 1, bytes[key.lowerBound] == UInt8(ascii: "u"),
            let number = PhoenixScan.decimal(bytes, (key.lowerBound + 1)..<key.upperBound),
            number < UInt64(plan.expectedMembers)
        else {
            bad("presence key that is not a benchmark user")
            return
        }
        let word = Int(number / 64)
        let bit = UInt64(1) << (number % 64)
        let had = members[index].seen[word] & bit != 0
        if present, !had {
            members[index].seen[word] |= bit
            members[index].seenCount += 1
        } else if !present, had {
            members[index].seen[word] &= ~bit
            members[index].seenCount -= 1
        }
    }

    func checkComplete(_ index: Int, now: UInt64) {
        guard !members[index].complete, members[index].seenCount == plan.expectedMembers else { return }
        members[index].complete = true
        result.membersComplete += 1
        result.lastCompleteNanoseconds = max(result.lastCompleteNanoseconds, now)
        publishProgress()
    }

    func bad(_ reason: String) {
        result.badFrames += 1
        result.noteError(reason)
    }

    /// A short, printable excerpt of a reply for error samples.
    func excerpt(_ bytes: UnsafeRawBufferPointer, from start: Int) -> String {
        let end = min(bytes.count, start + 80)
        return start < end ? String(decoding: bytes[start..<end], as: UTF8.self) : ""
    }
}
