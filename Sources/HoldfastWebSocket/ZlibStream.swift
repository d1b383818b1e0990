import CZlib

/// One zlib stream (raw deflate, RFC 7692) at a stable address: zlib keeps a back pointer to its `z_stream`, so
/// the struct must never move. Ends the stream on deinit.
///
/// `@unchecked Sendable`: a stream has one user at a time; the only one that moves between threads is a compressor
/// handed out and taken back by ``DeflaterPool``.
final class ZlibStream: @unchecked Sendable {
    /// Which direction the stream works in.
    enum Kind { case deflate, inflate }

    /// The outcome of inflating one fragment.
    enum InflateOutcome { case ok, tooBig, invalid }

    let kind: Kind
    let stream: UnsafeMutablePointer<z_stream>

    /// The 4 bytes a sync flush ends with; RFC 7692 strips them on send and restores them on receive.
    static let syncTail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// Creates a raw inflater with the given window (8...15), or nil when zlib cannot allocate it.
    ///
    /// zlib rejects a window outside 8...15 (possible in a snapshot from another process): then this is nil too.
    init?(inflateWindowBits windowBits: Int) {
        // The stored properties are set only on success: a failable class initializer that returns nil after
        // initializing them all runs `deinit`, which would end and free the stream a second time.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard holdfast_inflateInit2(stream, Int32(clamping: -windowBits)) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
        self.kind = .inflate
        self.stream = stream
    }

    /// Creates a raw deflater, or nil when zlib cannot allocate it.
    ///
    /// Also nil for a window, level or memory level zlib rejects (possible in a snapshot from another process).
    init?(deflateWindowBits windowBits: Int, level: Int, memoryLevel: Int) {
        // Set only on success, as in the inflater's initializer.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = holdfast_deflateInit2(
            stream, Int32(clamping: level), Z_DEFLATED, Int32(clamping: -windowBits), Int32(clamping: memoryLevel),
            Z_DEFAULT_STRATEGY
        )
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            return nil
        }
        self.kind = .deflate
        self.stream = stream
    }

    deinit {
        switch kind {
        case .deflate: deflateEnd(stream)
        case .inflate: inflateEnd(stream)
        }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Inflates `input`, appending to `buffer`, and fails with `.tooBig` as soon as the buffer would pass `limit`
    /// bytes, so a small compressed frame cannot expand without bound.
    func inflate(_ input: UnsafeRawBufferPointer, into buffer: MessageBuffer, limit: Int) -> InflateOutcome {
        guard let source = input.baseAddress, input.count > 0 else { return .ok }
        var remaining = input.count
        stream.pointee.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Bytef.self))
        while true {
            if stream.pointee.avail_in == 0 && remaining > 0 {
                let chunk = min(remaining, 1 << 30)
                stream.pointee.avail_in = UInt32(chunk)
                remaining -= chunk
            }
            let allowed = limit - buffer.count
            if buffer.freeCapacity == 0 { buffer.reserveFree(min(max(buffer.capacity, 1024), allowed + 1)) }
            // One byte beyond the limit is enough to detect that the message is too big.
            let space = min(buffer.freeCapacity, allowed + 1, Int(UInt32.max))
            guard let target = buffer.end, space > 0 else { return .tooBig }
            stream.pointee.next_out = target.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(space)
            let status = CZlib.inflate(stream, Z_SYNC_FLUSH)
            buffer.commit(space - Int(stream.pointee.avail_out))
            if buffer.count > limit { return .tooBig }
            let inputDone = stream.pointee.avail_in == 0 && remaining == 0
            switch status {
            case Z_OK:
                if inputDone && stream.pointee.avail_out > 0 { return .ok }
            case Z_BUF_ERROR:
                if inputDone { return .ok }
                if stream.pointee.avail_out > 0 { return .invalid }
            case Z_STREAM_END:
                // A final block ends the raw stream; keep the window so later messages can still refer to it.
                let window = dictionary()
                inflateReset(stream)
                setDictionary(window)
                if inputDone { return .ok }
            default:
                return .invalid
            }
        }
    }

    /// Compresses `payload` with a sync flush and appends the output, including the trailing 00 00 FF FF.
    func deflate(_ payload: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) -> Bool {
        // zlib accepts a null `next_in` when `avail_in` is 0, which covers the empty payload.
        stream.pointee.next_in = payload.baseAddress.map {
            UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
        }
        stream.pointee.avail_in = UInt32(payload.count)
        var chunk = Int(deflateBound(stream, UInt(payload.count))) + 16
        while true {
            let start = output.count
            output.append(contentsOf: repeatElement(0, count: chunk))
            let status = output.withUnsafeMutableBytes { bytes -> Int32 in
                guard let base = bytes.baseAddress else { return Z_BUF_ERROR }
                stream.pointee.next_out = (base + start).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = UInt32(chunk)
                return CZlib.deflate(stream, Z_SYNC_FLUSH)
            }
            let unused = Int(stream.pointee.avail_out)
            output.removeLast(unused)
            guard status == Z_OK || status == Z_BUF_ERROR else { return false }
            if unused > 0 { return stream.pointee.avail_in == 0 }
            chunk = max(chunk, 4096)
        }
    }

    /// The current window (up to 32 KiB of history), which recreates the stream's context elsewhere.
    func dictionary() -> [UInt8] {
        var window = [UInt8](repeating: 0, count: 1 << 15)
        var length: UInt32 = 0
        let status = window.withUnsafeMutableBufferPointer { target in
            switch kind {
            case .deflate: deflateGetDictionary(stream, target.baseAddress, &length)
            case .inflate: inflateGetDictionary(stream, target.baseAddress, &length)
            }
        }
        guard status == Z_OK else { return [] }
        window.removeLast(window.count - Int(length))
        return window
    }

    /// Primes the stream with a window taken from ``dictionary()``; for a deflater, only before the first use.
    @discardableResult
    func setDictionary(_ window: [UInt8]) -> Bool {
        guard !window.isEmpty else { return true }
        let status = window.withUnsafeBufferPointer { source in
            switch kind {
            case .deflate: deflateSetDictionary(stream, source.baseAddress, UInt32(source.count))
            case .inflate: inflateSetDictionary(stream, source.baseAddress, UInt32(source.count))
            }
        }
        return status == Z_OK
    }
}
