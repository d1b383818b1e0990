import Glibc

/// A bounded FIFO of webhook batches kept in one file, so queued batches survive a restart and a binary upgrade.
///
/// File layout: an 8-byte little-endian header holding the offset of the first undelivered record, then records
/// `u32 little-endian length ‖ body`. Appends are written and `fdatasync`ed before they count as queued;
/// delivering the first record moves the header (not synced: a crash at worst delivers it again, which
/// at-least-once allows). A torn record at the end (a crash mid-append) is cut off at open. When the queue
/// empties the file is truncated; when delivered records take most of it, the rest is rewritten to a new file.
///
/// Thread ownership: one thread at a time (the dispatcher's lock).
public final class WebhookQueue: @unchecked Sendable {
    /// Why the queue file cannot be used.
    public struct FileError: Error, CustomStringConvertible {
        public let description: String
    }

    static let headerBytes = 8
    public let path: String
    /// Undelivered bytes above which the oldest batches are dropped.
    public let maxBytes: Int
    private var fd: Int32
    private var records: [(offset: Int, body: [UInt8])] = []
    private var first = 0
    private var end: Int
    /// Batches dropped because the queue was full.
    public private(set) var dropped = 0
    /// Counts every batch that left the front (delivered or dropped), so a deliverer can tell whether the batch
    /// it posted is still the first one.
    public private(set) var frontSequence: UInt64 = 0

    /// Opens (or creates) the queue at `path` and loads what is still undelivered.
    public init(path: String, maxBytes: Int) throws(FileError) {
        self.path = path
        self.maxBytes = maxBytes
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        self.fd = fd
        guard fd >= 0 else { throw FileError(description: "cannot open \(path): errno \(errno)") }
        let size = Int(lseek(fd, 0, SEEK_END))
        var bytes = [UInt8](repeating: 0, count: max(size, 0))
        if size > 0 { _ = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) } }
        var head = Self.headerBytes
        end = Self.headerBytes
        if size >= Self.headerBytes {
            head = Int(Self.readU64(bytes, at: 0))
            if head < Self.headerBytes || head > size { head = Self.headerBytes }
        }
        var offset = head
        while offset + 4 <= size {
            let length = Int(Self.readU32(bytes, at: offset))
            guard offset + 4 + length <= size else { break }
            records.append((offset, Array(bytes[offset + 4..<offset + 4 + length])))
            offset += 4 + length
        }
        end = max(offset, Self.headerBytes)
        if size != end || size < Self.headerBytes {
            _ = ftruncate(fd, off_t(end))
            writeHeader(head: records.first?.offset ?? end)
        }
    }

    deinit { Glibc.close(fd) }

    /// Batches waiting.
    public var count: Int { records.count - first }
    /// The oldest undelivered batch.
    public var peek: [UInt8]? { first < records.count ? records[first].body : nil }
    /// Bytes of undelivered batches on disk.
    public var pendingBytes: Int { first < records.count ? end - records[first].offset : 0 }

    /// Appends a batch durably; drops the oldest batches beyond ``maxBytes``.
    public func append(_ body: [UInt8]) throws(FileError) {
        var record = Self.u32(UInt32(body.count))
        record += body
        let written = record.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(end)) }
        guard written == record.count else {
            _ = ftruncate(fd, off_t(end))
            throw FileError(description: "cannot append to \(path): errno \(errno)")
        }
        _ = fdatasync(fd)
        records.append((end, body))
        end += record.count
        while pendingBytes > maxBytes && count > 1 {
            first += 1
            dropped += 1
            frontSequence &+= 1
        }
        if dropped > 0 { writeHeader(head: records[first].offset) }
    }

    /// Forgets the oldest batch (it was delivered).
    public func removeFirst() {
        guard first < records.count else { return }
        first += 1
        frontSequence &+= 1
        if first == records.count {
            records.removeAll()
            first = 0
            end = Self.headerBytes
            _ = ftruncate(fd, off_t(end))
            writeHeader(head: end)
        } else if first > 1024 && first * 2 > records.count {
            compact()
        } else {
            writeHeader(head: records[first].offset)
        }
    }

    /// Rewrites the undelivered records to a fresh file (atomically renamed over the old one).
    private func compact() {
        let temporary = path + ".tmp"
        let out = open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard out >= 0 else { return writeHeader(head: records[first].offset) }
        var bytes = Self.u64(UInt64(Self.headerBytes))
        var moved: [(offset: Int, body: [UInt8])] = []
        for record in records[first...] {
            moved.append((bytes.count, record.body))
            bytes += Self.u32(UInt32(record.body.count)) + record.body
        }
        let written = bytes.withUnsafeBytes { pwrite(out, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count, fdatasync(out) == 0, rename(temporary, path) == 0 else {
            Glibc.close(out)
            return writeHeader(head: records[first].offset)
        }
        Glibc.close(fd)
        fd = out
        records = moved
        first = 0
        end = bytes.count
    }

    private func writeHeader(head: Int) {
        let header = Self.u64(UInt64(head))
        _ = header.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    static func u32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
    static func u64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
    static func readU32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << ($1 * 8) }
    }
    static func readU64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << ($1 * 8) }
    }
}
