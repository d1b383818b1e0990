/// What one read by ``EventLoop/readAvailable(_:rounds:_:)`` brought.
public enum ReadChunk {
    /// Bytes in the loop's ``EventLoop/readBuffer``, valid until the handler returns.
    case bytes(UnsafeMutableRawBufferPointer)
    /// The peer closed its side.
    case endOfInput
    /// The read failed.
    case failed(SystemError)
}

extension EventLoop {
    /// Reads `fd` into ``readBuffer`` until the kernel has nothing more (a read that leaves the buffer room), `body`
    /// returns false, or after `rounds` reads (so one busy peer cannot starve the loop), handing each chunk, the end
    /// of input or a failure to `body`. Returns whether any bytes were handed over.
    @inlinable
    public func readAvailable(_ fd: Int32, rounds: Int = 4, _ body: (ReadChunk) -> Bool) -> Bool {
        Self.readAvailable(fd, into: readBuffer, rounds: rounds, body)
    }

    /// ``readAvailable(_:rounds:_:)`` into a loop's ``readBuffer`` passed by value: a caller that takes the buffer from
    /// the loop before the call holds no reference to the loop across it (a retain and a release per read event).
    @inlinable
    public static func readAvailable(
        _ fd: Int32, into readBuffer: UnsafeMutableRawBufferPointer, rounds: Int = 4, _ body: (ReadChunk) -> Bool
    ) -> Bool {
        for round in 0..<rounds {
            switch Socket.read(fd, into: readBuffer) {
            case .done(0):
                _ = body(.endOfInput)
            case .done(let count):
                if body(.bytes(UnsafeMutableRawBufferPointer(rebasing: readBuffer[0..<count])))
                    && count == readBuffer.count
                {
                    continue
                }
                return true
            case .wouldBlock:
                break
            case .failed(let error):
                _ = body(.failed(error))
            }
            return round > 0
        }
        return true
    }
}
