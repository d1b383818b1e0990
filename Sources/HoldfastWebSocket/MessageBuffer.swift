/// Storage for a message that cannot be delivered in place (fragmented or compressed), at a stable address so
/// zlib and the caller can hold pointers into it. Allocated per message and dropped after delivery, so an idle
/// connection holds no buffer.
final class MessageBuffer {
    /// The start of the storage, nil until the first byte arrives.
    private(set) var base: UnsafeMutableRawPointer?
    /// Bytes in use.
    private(set) var count = 0
    /// Bytes allocated.
    private(set) var capacity = 0

    init() {}

    deinit { base?.deallocate() }

    /// The bytes in use; valid until the next mutation.
    var bytes: UnsafeRawBufferPointer {
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base, count: count)
    }

    /// Free bytes after `count`.
    var freeCapacity: Int { capacity - count }

    /// The first free byte; only valid when `freeCapacity > 0`.
    var end: UnsafeMutableRawPointer? { base.map { $0 + count } }

    /// Makes room for at least `extra` more bytes, growing geometrically.
    func reserveFree(_ extra: Int) {
        guard freeCapacity < extra else { return }
        let newCapacity = max(count + extra, capacity * 2, 256)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if let base {
            storage.copyMemory(from: base, byteCount: count)
            base.deallocate()
        }
        base = storage
        capacity = newCapacity
    }

    /// Records that `produced` bytes were written at ``end``.
    func commit(_ produced: Int) {
        precondition(produced >= 0 && produced <= freeCapacity, "MessageBuffer overrun")
        count += produced
    }

    /// Appends bytes.
    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserveFree(bytes.count)
        end?.copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }
}
