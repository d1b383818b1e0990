import Glibc

// The record stream a binary upgrade sends over a ``HandoffChannel``: one record per connection, each the
// connection's state bytes with its fd attached, batched into messages, then an explicit END.
//
// Message payload layout (integers little-endian):
//   records message: kind 0x01, then entries { flags: UInt8, length: UInt32, bytes[length] }
//     flags bit 0 (start): the first entry of a record; it takes the message's next fd, in order
//     flags bit 1 (last):  the record's bytes end with this entry
//     flags bit 2 (no fd): with bit 0, a record that carries no fd (state only)
//     A record too large for one message continues in the following messages with entries that carry
//     neither bit until the one with the last bit. Every fd of a message belongs to exactly one start entry.
//   end message: kind 0x02, then the record count as UInt64; it carries no fds.

private enum StreamFormat {
    static let recordsKind: UInt8 = 0x01
    static let endKind: UInt8 = 0x02
    static let startFlag: UInt8 = 0x01
    static let lastFlag: UInt8 = 0x02
    static let noFDFlag: UInt8 = 0x04
    /// flags plus length.
    static let entryOverhead = 5
}

/// Writes (state, fd) records to a ``HandoffChannel``, batching them into messages of at most
/// ``HandoffChannel/maxFdsPerMessage`` fds and ``HandoffChannel/maxPayload`` bytes, and ends the stream with an
/// explicit END marker that carries the record count:
///
/// ```swift
/// let writer = HandoffWriter(channel: channel, timeoutMilliseconds: 3000)
/// for connection in all { try writer.add(state: connection.state, fd: connection.fd) }
/// try writer.finish()
/// ```
///
/// State of any size is accepted: a record larger than one message is split over several. The writer does not
/// take ownership of the fds; keep them open at least until ``finish()`` returns (records are buffered until
/// their message is full). Each send waits at most `timeoutMilliseconds`. Use from one thread.
public final class HandoffWriter {
    /// The channel the records go to.
    public let channel: HandoffChannel
    /// How long each message may wait for room in the socket buffer.
    public let timeoutMilliseconds: Int
    /// Records added so far.
    public private(set) var recordsWritten = 0
    /// Messages sent so far, END included.
    public private(set) var messagesSent = 0
    /// Called before each message of records goes out, with its number (1: the first); the fault hook's
    /// per-batch steps use it.
    public var beforeRecordsMessage: ((Int) -> Void)?

    private var payload: [UInt8] = [StreamFormat.recordsKind]
    private var fds: [Int32] = []
    private var finished = false

    /// Creates a writer over `channel`.
    public init(channel: HandoffChannel, timeoutMilliseconds: Int) {
        self.channel = channel
        self.timeoutMilliseconds = timeoutMilliseconds
        payload.reserveCapacity(HandoffChannel.maxPayload)
        fds.reserveCapacity(HandoffChannel.maxFdsPerMessage)
    }

    /// Adds one record: a connection's state bytes (possibly empty) and its fd, or state alone when `fd` is nil.
    /// Sends a message whenever the current one is full.
    public func add(state: [UInt8], fd: Int32?) throws(HandoffChannelError) {
        precondition(!finished, "HandoffWriter.add after finish")
        let cap = HandoffChannel.maxPayload
        let fdsFull = fd != nil && fds.count == HandoffChannel.maxFdsPerMessage
        if fdsFull || payload.count + StreamFormat.entryOverhead + state.count > cap {
            try flush()
        }
        var offset = 0
        var first = true
        while true {
            let room = cap - payload.count - StreamFormat.entryOverhead
            let length = min(room, state.count - offset)
            let last = offset + length == state.count
            var flags: UInt8 = 0
            if first { flags |= StreamFormat.startFlag }
            if first && fd == nil { flags |= StreamFormat.noFDFlag }
            if last { flags |= StreamFormat.lastFlag }
            payload.append(flags)
            appendLittleEndian(UInt32(length), to: &payload)
            payload.append(contentsOf: state[offset..<offset + length])
            if first, let fd { fds.append(fd) }
            first = false
            offset += length
            if last { break }
            try flush()
        }
        recordsWritten += 1
    }

    /// Sends the records buffered so far as one message (nothing when there are none).
    public func flush() throws(HandoffChannelError) {
        guard payload.count > 1 || !fds.isEmpty else { return }
        beforeRecordsMessage?(messagesSent + 1)
        try channel.send(payload, fds: fds, timeoutMilliseconds: timeoutMilliseconds)
        messagesSent += 1
        payload.removeAll(keepingCapacity: true)
        payload.append(StreamFormat.recordsKind)
        fds.removeAll(keepingCapacity: true)
    }

    /// Sends what is buffered, then the END marker with the record count. The reader returns nil after it.
    public func finish() throws(HandoffChannelError) {
        precondition(!finished, "HandoffWriter.finish called twice")
        try flush()
        var end: [UInt8] = [StreamFormat.endKind]
        appendLittleEndian(UInt64(recordsWritten), to: &end)
        try channel.send(end, timeoutMilliseconds: timeoutMilliseconds)
        messagesSent += 1
        finished = true
    }
}

/// Reads the records a ``HandoffWriter`` wrote, in order, until its END marker.
///
/// ```swift
/// let reader = HandoffReader(channel: channel, timeoutMilliseconds: 3000)
/// while let (state, fd) = try reader.next() { adopt(fd, state) }
/// ```
///
/// Every fd returned belongs to the caller. When the stream breaks (a timeout, the peer closing before END, a
/// malformed or truncated message, a record count that does not match END), ``next()`` throws and closes every
/// fd it received but had not yet returned; the handoff has then failed and the sender should keep serving.
/// Use from one thread.
public final class HandoffReader {
    /// The channel the records come from.
    public let channel: HandoffChannel
    /// How long each message may take to arrive.
    public let timeoutMilliseconds: Int
    /// Records returned so far.
    public private(set) var recordsRead = 0
    /// Messages received so far, END included.
    public private(set) var messagesReceived = 0

    private var payload: [UInt8] = []
    private var position = 0
    private var fds: [Int32] = []
    private var fdIndex = 0
    private var ended = false
    private var failure: HandoffChannelError?

    /// Creates a reader over `channel`.
    public init(channel: HandoffChannel, timeoutMilliseconds: Int) {
        self.channel = channel
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The next record, or nil after the END marker. `fd` is nil for a record written without one.
    public func next() throws(HandoffChannelError) -> (state: [UInt8], fd: Int32?)? {
        if let failure { throw failure }
        if ended { return nil }
        var state: [UInt8] = []
        var fd: Int32?
        var inRecord = false
        do throws(HandoffChannelError) {
            while true {
                if position >= payload.count {
                    guard fdIndex == fds.count else { throw .malformed("\(fds.count - fdIndex) fds without a record") }
                    if try receiveMessage(inRecord: inRecord) { return nil }
                    continue
                }
                guard payload.count - position >= StreamFormat.entryOverhead else {
                    throw .malformed("cut entry header")
                }
                let flags = payload[position]
                let length = Int(readLittleEndian(UInt32.self, payload, at: position + 1))
                position += StreamFormat.entryOverhead
                guard payload.count - position >= length else { throw .malformed("entry longer than its message") }
                if flags & StreamFormat.startFlag != 0 {
                    guard !inRecord else { throw .malformed("record started inside a record") }
                    inRecord = true
                    if flags & StreamFormat.noFDFlag == 0 {
                        guard fdIndex < fds.count else { throw .malformed("record without an fd") }
                        fd = fds[fdIndex]
                        fdIndex += 1
                    }
                } else if !inRecord {
                    throw .malformed("continuation without a record")
                }
                state.append(contentsOf: payload[position..<position + length])
                position += length
                if flags & StreamFormat.lastFlag != 0 {
                    recordsRead += 1
                    return (state, fd)
                }
            }
        } catch {
            if let fd { _ = Glibc.close(fd) }
            closeAll(fds[fdIndex...])
            fds = []
            fdIndex = 0
            payload = []
            position = 0
            failure = error
            throw error
        }
    }

    /// Receives the next message; returns true when it was END.
    private func receiveMessage(inRecord: Bool) throws(HandoffChannelError) -> Bool {
        let (message, received) = try channel.receive(timeoutMilliseconds: timeoutMilliseconds)
        messagesReceived += 1
        payload = []
        position = 0
        fds = received
        fdIndex = 0
        guard let kind = message.first else { throw .malformed("empty message") }
        switch kind {
        case StreamFormat.recordsKind:
            payload = message
            position = 1
            return false
        case StreamFormat.endKind:
            guard received.isEmpty else { throw .malformed("fds attached to END") }
            guard message.count == 9 else { throw .malformed("END of \(message.count) bytes") }
            guard !inRecord else { throw .malformed("END inside a record") }
            let count = readLittleEndian(UInt64.self, message, at: 1)
            guard count == UInt64(recordsRead) else {
                throw .malformed("END announces \(count) records, \(recordsRead) arrived")
            }
            ended = true
            return true
        default:
            throw .malformed("unknown message kind \(kind)")
        }
    }
}

private func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
    var value = value.littleEndian
    withUnsafeBytes(of: &value) { bytes.append(contentsOf: $0) }
}

private func readLittleEndian<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
    var value: T = 0
    for index in 0..<MemoryLayout<T>.size {
        value |= T(bytes[offset + index]) << (8 * index)
    }
    return value
}
