import FuzzSupport
import HoldfastBytes
import HoldfastChannels
import HoldfastHandoff
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms
import HoldfastTLS
import HoldfastWebSocket

/// Client bytes for a connection restored from a snapshot: the rest of a fragmented message, a ping, a whole
/// compressed message, a close.
private let framesAfterImport: [UInt8] =
    clientFrame(opcode: 0, fin: true, rsv1: false, payload: Array("rest é".utf8))
    + clientFrame(opcode: 9, fin: true, rsv1: false, payload: [1, 2])
    + clientFrame(opcode: 1, fin: true, rsv1: true, payload: [0xCA, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
    + clientFrame(opcode: 8, fin: true, rsv1: false, payload: [0x03, 0xE8])

/// What the successor process does with a decoded connection: restores its WebSocket and TLS state and reads on.
private func restore(_ snapshot: ConnectionSnapshot) {
    if let state = snapshot.webSocket {
        var connection = WebSocketConnection(importing: state)
        var input = framesAfterImport
        var output: [UInt8] = []
        var consumedAll = 0
        while consumedAll < input.count {
            let (event, consumed) = input.withUnsafeMutableBytes {
                connection.nextEvent(input: UnsafeMutableRawBufferPointer(rebasing: $0[consumedAll...]), output: &output)
            }
            consumedAll += consumed
            if case .needMoreInput = event { break }
            if case .closed = event { break }
        }
        _ = connection.exportState()
    }
    if let state = snapshot.tls, var layer = try? TLSRecordLayer(importing: state) {
        var record: [UInt8] = [23, 3, 3, 0, 17] + [UInt8](repeating: 0xAB, count: 17)
        var plaintext: [UInt8] = []
        var output: [UInt8] = []
        _ = record.withUnsafeMutableBytes { layer.open($0, plaintext: &plaintext, output: &output) }
        layer = (try? TLSRecordLayer(importing: layer.exportState())) ?? layer
        var sealed: [UInt8] = []
        [1, 2, 3].withUnsafeBytes { layer.seal($0, into: &sealed) }
    }
}

/// What a room does with presence restored from a snapshot: serves it, diffs it and tracks on.
private func restore(_ snapshot: PresenceSnapshot) {
    var state = PresenceState(importing: snapshot)
    _ = state.statePayload()
    _ = state.takeDiff()
    if let entry = snapshot.entries.first {
        _ = state.update(owner: entry.owner, key: entry.key, meta: .object([JSONMember("k", .integer(1))]))
        _ = state.untrack(owner: entry.owner, key: entry.key)
        state.untrackAll(owner: entry.owner)
    }
    _ = state.track(owner: 1, key: "fuzz", meta: .null)
    _ = state.takeDiff()
    _ = state.exportState()
}

/// Checks that a decoded value re-encodes to bytes that decode to a value encoding to the same bytes (bytes are
/// compared rather than values so that NaN doubles in presence metas compare equal).
private func roundTrip(_ name: String, _ first: [UInt8], _ decode: ([UInt8]) throws -> [UInt8]) {
    do {
        let second = try decode(first)
        require(second == first, "\(name): re-encoding changed \(first) into \(second)")
    } catch {
        require(false, "\(name): own encoding does not decode: \(error) \(first)")
    }
}

/// Input: a record or control message as read from the handoff channel. Every decoder gets it, since the real
/// reader chooses the decoder by the first byte, which the fuzzer controls anyway.
@main
enum FuzzHandoff {
    static func main() {
        FuzzDriver.run { input in
            let bytes = Array(input)
            if let value = try? HandoffHeader(decoding: bytes) {
                roundTrip("header", value.encode()) { try HandoffHeader(decoding: $0).encode() }
            }
            if let value = try? ListenerSnapshot(decoding: bytes) {
                roundTrip("listener", value.encode()) { try ListenerSnapshot(decoding: $0).encode() }
            }
            if let value = try? ConnectionSnapshot(decoding: bytes) {
                restore(value)
                roundTrip("connection", value.encode()) { try ConnectionSnapshot(decoding: $0).encode() }
            }
            if let (key, snapshot) = try? KeyedConnectionRecord.decode(bytes) {
                restore(snapshot)
                let kind = bytes[0]
                roundTrip("keyed connection", KeyedConnectionRecord.encode(kind: kind, key: key, snapshot: snapshot.encode())) {
                    let (key, snapshot) = try KeyedConnectionRecord.decode($0)
                    return KeyedConnectionRecord.encode(kind: kind, key: key, snapshot: snapshot.encode())
                }
            }
            if let output = try? ConnectionOutput(decoding: bytes) {
                roundTrip("connection output", output.encode()) { try ConnectionOutput(decoding: $0).encode() }
                // What the new process does with it: applied to a staged copy, which then differs only in output.
                let staged = ConnectionSnapshot(
                    loopIndex: 0, isAdmin: false, overLimit: false, phase: .webSocket, deadline: 1,
                    closeWhenFlushed: false, inbound: [], plainInbound: [], outbound: [1], tls: output.tls.map { _ in [] },
                    application: .echo, webSocket: nil, phoenix: nil)
                let applied = output.applied(to: staged)
                require(staged.differsOnlyInOutput(from: applied), "connection output: applied, more than output moved")
                require(ConnectionOutput(key: output.key, of: applied) == output, "connection output: not what was applied")
                restore(applied)  // a TLS state is imported and used as the new process would
            }
            if let progress = try? ConnectionProgress(decoding: bytes) {
                roundTrip("connection progress", progress.encode()) { try ConnectionProgress(decoding: $0).encode() }
                // What the new process does with it: applied to a staged copy (an open WebSocket with a session,
                // no zlib windows), which then differs only in progress, and read on from there.
                let staged = ConnectionSnapshot(
                    loopIndex: 0, isAdmin: false, overLimit: false, phase: .webSocket, deadline: 1,
                    closeWhenFlushed: false, inbound: [], plainInbound: [], outbound: [1],
                    tls: progress.output.tls.map { _ in [] }, application: .phoenix,
                    webSocket: WebSocketConnectionState(
                        limits: WebSocketLimits(maxFrameSize: 1000, maxMessageSize: 2000), deflate: nil,
                        minimumSizeToCompress: 64, compressionLevel: 6, memoryLevel: 8, closeSent: false,
                        openMessage: nil, utf8State: 0, partialMessage: [], inflateWindow: nil, deflateWindow: nil),
                    phoenix: PhoenixSnapshot(
                        connectionID: 1, user: "fuzz", version: .v2, channels: [], lastReceivedAt: 0,
                        rateWindowStart: 0, rateWindowCount: 0, joins: []))
                let applied = progress.applied(to: staged)
                require(
                    staged.differsOnlyInProgress(from: applied), "connection progress: applied, more than progress moved")
                require(
                    ConnectionProgress(key: progress.key, of: applied) == progress,
                    "connection progress: not what was applied")
                restore(applied)  // the WebSocket parser and a TLS state are imported and used as the new process would
            }
            if let keys = try? ClosedKeysRecord.decode(bytes) {
                let sorted = keys.sorted()
                roundTrip("closed keys", ClosedKeysRecord.encode(sorted)) {
                    ClosedKeysRecord.encode(try ClosedKeysRecord.decode($0).sorted())
                }
            }
            // Control messages carry durations as whole microseconds read into a Double, so their re-encoding
            // may differ by a microsecond (and is never done with a received message): decoding is all there is.
            _ = try? HandoffControl(decoding: bytes)
            if let value = try? RoomSnapshot(decoding: bytes) {
                if let presence = value.presence { restore(presence) }
                roundTrip("room", value.encode()) { try RoomSnapshot(decoding: $0).encode() }
            }
            if let value = try? StagedRoom(decoding: bytes) {
                restore(value.presence)
                roundTrip("staged room", value.encode()) { try StagedRoom(decoding: $0).encode() }
                roundTrip("staged room with values", value.encode(withValues: true)) {
                    try StagedRoom(decoding: $0).encode(withValues: true)
                }
            }
            // A room record of changes (or a full one) read against nothing staged; then written against staged
            // values that differ from it (members dropped, changed and added; authors cut), and read back.
            if let value = try? RoomSnapshot(decoding: bytes, staged: StagedRoomValues()) {
                if let presence = value.presence { restore(presence) }
                let none = StagedRoomValues()
                roundTrip("room changes", value.encodeChanges(since: none)) {
                    try RoomSnapshot(decoding: $0, staged: none).encodeChanges(since: none)
                }
                var staged = StagedRoomValues()
                for (index, (id, assigns)) in (value.handler?.assigns ?? [:]).enumerated() where index % 3 != 0 {
                    staged.assigns[id] = index % 3 == 1 ? assigns : .integer(Int64(index))
                }
                staged.assigns[UInt64.max - 1] = .string("gone since")
                let entries = value.authors.entries
                staged.authors = MessageAuthors(entries: Array(entries.prefix(entries.count / 2)) + [(Int64.min, "x")])
                let rebuilt = try? RoomSnapshot(decoding: value.encodeChanges(since: staged), staged: staged)
                require(
                    rebuilt?.encodeChanges(since: none) == value.encodeChanges(since: none),
                    "room changes: applied to the staged values they were written against, they do not give the room")
                // The usual change since staging (the oldest authors pushed out, newer ones appended): found in one pass.
                var appended = staged
                appended.authors = MessageAuthors(entries: [(Int64.min, "x")] + Array(entries.prefix(entries.count / 2)))
                let fromAppended = try? RoomSnapshot(decoding: value.encodeChanges(since: appended), staged: appended)
                require(
                    fromAppended?.encodeChanges(since: none) == value.encodeChanges(since: none),
                    "room changes: authors appended since staging, applied to the staged values, do not give the room")
            }
            if let value = try? PresenceSnapshot(decoding: bytes) {
                restore(value)
                var encoded: [UInt8] = []
                value.encode(into: &encoded)
                roundTrip("presence", encoded) {
                    var again: [UInt8] = []
                    try PresenceSnapshot(decoding: $0).encode(into: &again)
                    return again
                }
            }
        }
    }
}
