import HoldfastCore

extension ChannelClient {
    // MARK: Raw broadcast

    /// A raw connection needs no join: it is in the room once the WebSocket is open.
    func rawOpened(_ connection: ClientConnection) {
        members[connection.tag].joinSentAt = MonotonicClock.nowNanoseconds()
        joinSettled(connection, ok: true, reason: "")
    }

    /// Counts and times one relayed message: a delivery at a subscriber, and at a publisher also the
    /// acknowledgement of its own message.
    func handleRaw(_ connection: ClientConnection, _ bytes: UnsafeRawBufferPointer, now: UInt64) {
        guard let message = RawBroadcast.parse(bytes), message.sentAt <= now else {
            bad("message without a raw broadcast stamp")
            return
        }
        let index = connection.tag
        switch members[index].role {
        case .subscriber:
            result.deliveriesTotal += 1
            recordDelivery(index, latency: now - message.sentAt, now: now)
        case .publisher:
            result.publisherDeliveries += 1
            guard message.publisher == UInt64(members[index].number),
                let sent = members[index].pending.removeValue(forKey: message.ref)
            else { return }
            acknowledged(index, ref: message.ref, ok: true, sent: sent, now: now, refusal: "")
        case .member, .chatter:
            bad("raw messages are for the broadcast scenario only")
        }
    }
}
