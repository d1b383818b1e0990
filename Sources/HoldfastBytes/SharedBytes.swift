import Synchronization

/// Bytes read by many, with forms derived from them (a compression, say) made once and kept beside them.
///
/// Immutable: changed bytes are a new instance, so a kept form never goes stale. The forms are guarded by a lock,
/// so any thread may ask for one.
public final class SharedBytes: Sendable {
    /// The bytes.
    public let bytes: [UInt8]
    private let forms = Mutex<[Int: [UInt8]]>([:])

    /// Wraps `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// `bytes` in a buffer of their own size: a kept array built by appending holds up to twice its count.
    public static func exact(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: bytes)
        }
    }

    /// The form of ``bytes`` under `key`, made by `make` the first time it is asked for and kept (in a buffer of
    /// its own size); when `make` gives nil, nothing is kept and nil is returned.
    public func form(_ key: Int, make: ([UInt8]) -> [UInt8]?) -> [UInt8]? {
        forms.withLock { forms in
            if let kept = forms[key] { return kept }
            guard let made = make(bytes).map(Self.exact) else { return nil }
            forms[key] = made
            return made
        }
    }
}
