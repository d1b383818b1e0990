import CZlib
import Synchronization

/// Compressors reused across messages that carry no context (`server_no_context_takeover`).
///
/// Such a message needs a compressor only for the duration of one call. Creating one allocates about 256 KiB:
/// creating, using and ending one for a 70-byte Phoenix reply took 10 µs to 87 µs here (more when the allocator
/// gives the pages back in between), resetting and using a kept one 6.5 µs (same zlib, measured in C). Streams are kept per (window bits, level, memory level), a few of each, for the whole process: an
/// event loop takes one, compresses, and gives it back, so a stream has one user at a time.
final class DeflaterPool: Sendable {
    struct Settings: Hashable {
        var windowBits: Int
        var level: Int
        var memoryLevel: Int
    }

    /// The process-wide pool.
    static let shared = DeflaterPool(keptPerSettings: 4)

    private let keptPerSettings: Int
    private let idle = Mutex<[Settings: [ZlibStream]]>([:])

    init(keptPerSettings: Int) { self.keptPerSettings = keptPerSettings }

    /// A reset compressor with these settings, or nil when zlib cannot allocate one.
    func take(_ settings: Settings) -> ZlibStream? {
        if let kept = idle.withLock({ $0[settings]?.popLast() }) { return kept }
        return ZlibStream(
            deflateWindowBits: settings.windowBits, level: settings.level, memoryLevel: settings.memoryLevel)
    }

    /// Returns a compressor after use: reset and kept, or released when enough are kept.
    func give(_ stream: ZlibStream, _ settings: Settings) {
        guard deflateReset(stream.stream) == Z_OK else { return }
        idle.withLock { idle in
            if idle[settings, default: []].count < keptPerSettings { idle[settings, default: []].append(stream) }
        }
    }
}
