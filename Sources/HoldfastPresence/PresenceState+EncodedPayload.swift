import HoldfastJSON

extension PresenceState {
    /// ``statePayload()`` as compact JSON bytes, written straight from the tracked presences.
    ///
    /// The bytes equal `JSON.encode(statePayload())`. A joiner's `presence_state` in a room of 19,000 is this
    /// call. Building the value tree first cost one allocation per key, meta and field, then as many releases.
    /// That was most of the server's own CPU per presence change. A key with one meta (the common case) is
    /// written where it is met; keys with more metas are gathered first, so their metas stay together. O(N).
    public func encodedStatePayload() -> [UInt8] {
        // The live slots in tracking order, and the later metas of keys seen with more than one.
        var firsts: [(ref: String, presence: Presence)] = []
        firsts.reserveCapacity(slotByRef.count)
        var later: [String: [(ref: String, presence: Presence)]] = [:]
        for index in order.indices where isLive(index) {
            let (slot, presence) = (order[index], order[index].presence)
            if metasPerKey[presence.key, default: 1] > 1 {
                if later[presence.key] != nil {
                    later[presence.key]!.append((slot.ref, presence))
                    continue
                }
                later[presence.key] = []
            }
            firsts.append((slot.ref, presence))
        }
        var output: [UInt8] = []
        output.reserveCapacity(64 + firsts.count * 96)
        output.append(UInt8(ascii: "{"))
        for (index, first) in firsts.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            JSON.appendString(first.presence.key, to: &output)
            output.append(contentsOf: #":{"metas":["#.utf8)
            Self.appendMeta(first.presence, ref: first.ref, to: &output)
            for more in later[first.presence.key] ?? [] {
                output.append(UInt8(ascii: ","))
                Self.appendMeta(more.presence, ref: more.ref, to: &output)
            }
            output.append(contentsOf: "]}".utf8)
        }
        output.append(UInt8(ascii: "}"))
        return output
    }

    /// One meta as ``render(_:ref:)`` makes it, encoded.
    static func appendMeta(_ presence: Presence, ref: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        for member in presence.fields {
            JSON.appendString(member.key, to: &output)
            output.append(UInt8(ascii: ":"))
            JSON.encode(member.value, into: &output)
            output.append(UInt8(ascii: ","))
        }
        output.append(contentsOf: #""phx_ref":"#.utf8)
        JSON.appendString(ref, to: &output)
        if let previous = presence.previousRef {
            output.append(contentsOf: #","phx_ref_prev":"#.utf8)
            JSON.appendString(previous, to: &output)
        }
        output.append(UInt8(ascii: "}"))
    }
}
