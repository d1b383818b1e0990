import HoldfastBytes
import HoldfastJSON

extension PresenceState {
    /// Metas per chunk of ``encodedState()``, by tracking sequence.
    static let metasPerChunk: UInt64 = 128

    /// ``encodedStatePayload()`` in chunks of tracking order, each kept from one call to the next until one of
    /// its metas changes.
    ///
    /// A joiner's `presence_state` in a large room is this call, once per presence change: encoding, and above
    /// all compressing, 19,000 metas each time was most of the server's own CPU per change. A change re-encodes
    /// the chunks that hold its metas (a join lands in the newest); the others are the same instances as before,
    /// with their compression kept beside them (``SharedBytes``). The joined bytes equal
    /// ``encodedStatePayload()``.
    ///
    /// While some key has more than one meta, the state is encoded whole as one chunk: such a key's metas are
    /// written together at its oldest, which may sit in another chunk. States of fewer than `minimum` metas are
    /// encoded whole too, and nothing is kept (0: never keep). O(changed chunks × chunk size) to encode,
    /// O(N / chunk size) to collect.
    public mutating func encodedState(keepingChunksFrom minimum: Int = 1_024) -> EncodedPresenceState {
        guard minimum > 0, slotByRef.count >= minimum, metasPerKey.count == slotByRef.count else {
            encodedChunks.removeAll()
            let whole = encodedStatePayload()
            return EncodedPresenceState(chunks: whole.count > 2 ? [SharedBytes(Array(whole.dropFirst().dropLast()))] : [])
        }
        var chunks: [SharedBytes] = []
        var start = 0
        while start < order.count {
            let number = order[start].sequence / Self.metasPerChunk
            let end = firstSlot(from: start, atOrAfter: (number + 1) * Self.metasPerChunk)
            if let kept = encodedChunks[number] {
                chunks.append(kept)
            } else if let made = encodedChunk(start..<end) {
                encodedChunks[number] = made
                chunks.append(made)
            }
            start = end
        }
        return EncodedPresenceState(chunks: chunks)
    }

    /// A change to the meta with tracking sequence `sequence`: its chunk is encoded anew when next asked for.
    mutating func chunkChanged(sequence: UInt64) {
        guard !encodedChunks.isEmpty else { return }
        encodedChunks[sequence / Self.metasPerChunk] = nil
    }

    /// The live metas among the slots at `slots` encoded as members of the payload (every key has one meta), or
    /// nil if none is live (not kept: stale slots are compacted away in time).
    private func encodedChunk(_ slots: Range<Int>) -> SharedBytes? {
        var output: [UInt8] = []
        for index in slots where isLive(index) {
            let (slot, presence) = (order[index], order[index].presence)
            if !output.isEmpty { output.append(UInt8(ascii: ",")) }
            JSON.appendString(presence.key, to: &output)
            output.append(contentsOf: #":{"metas":["#.utf8)
            Self.appendMeta(presence, ref: slot.ref, to: &output)
            output.append(contentsOf: "]}".utf8)
        }
        return output.isEmpty ? nil : SharedBytes(SharedBytes.exact(output))
    }

    /// The first index at or after `start` whose slot's sequence is at least `sequence` (`order` is sorted by
    /// sequence).
    private func firstSlot(from start: Int, atOrAfter sequence: UInt64) -> Int {
        var low = start
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            if order[middle].sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
