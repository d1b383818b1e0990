import Synchronization

/// Bytes read by many, with forms derived from them (a compression, say) made once and kept beside them.
///
/// Immutable: changed bytes are a new instance, so a kept form never goes stale. The text and the forms are guarded
/// by a lock, so any thread may ask for either.
///
/// A form that can be turned back into the bytes may stand in for them (``form(_:make:standingInWith:)``): the bytes
/// are then released and rebuilt from that form the next time someone reads them, and kept from then on. A room's
/// `presence_state` chunks live this way: once compressed for the joiners that take them compressed, the text
/// (about 13 times the compressed size) is not held beside the compression unless a joiner needs it.
public final class SharedBytes: Sendable {
    /// The number of bytes (known without rebuilding released bytes).
    public let count: Int
    private let kept: Mutex<Kept>

    /// The text (nil while a form stands in for it) and the forms.
    private struct Kept {
        var text: [UInt8]?
        var forms: [Int: [UInt8]] = [:]
        /// Set while the text is released: the form that stands in for it and how to expand that form.
        var standIn: (key: Int, expand: @Sendable ([UInt8], Int) -> [UInt8]?)?
        /// The text was rebuilt once; it stays from then on (a reader of the text came back, so releasing it again
        /// would trade every later read for an expansion).
        var rebuilt = false
    }

    /// Wraps `bytes`.
    public init(_ bytes: [UInt8]) {
        count = bytes.count
        kept = Mutex(Kept(text: bytes))
    }

    /// The bytes.
    public var bytes: [UInt8] { kept.withLock { Self.text(&$0, count: count) } }

    /// Whether the bytes are held as they are (false while a form stands in for them).
    public var holdsText: Bool { kept.withLock { $0.text != nil } }

    /// `bytes` in a buffer of their own size: a kept array built by appending holds up to twice its count.
    public static func exact(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: bytes.count) { buffer, count in
            count = buffer.initialize(fromContentsOf: bytes)
        }
    }

    /// The form of ``bytes`` under `key`, made by `make` the first time it is asked for and kept (in a buffer of
    /// its own size); when `make` gives nil, nothing is kept and nil is returned.
    public func form(_ key: Int, make: ([UInt8]) -> [UInt8]?) -> [UInt8]? {
        kept.withLock { kept in
            if let form = kept.forms[key] { return form }
            guard let made = make(Self.text(&kept, count: count)).map(Self.exact) else { return nil }
            kept.forms[key] = made
            return made
        }
    }

    /// ``form(_:make:)``, and the form made stands in for the bytes when `expand` turns it back into exactly them
    /// (`expand` gets the form and the number of bytes it must give): the bytes are released until they are read
    /// again. Bytes rebuilt once are kept; a form that does not expand to the same bytes never stands in.
    public func form(
        _ key: Int, make: ([UInt8]) -> [UInt8]?, standingInWith expand: @escaping @Sendable ([UInt8], Int) -> [UInt8]?
    ) -> [UInt8]? {
        kept.withLock { kept in
            if let form = kept.forms[key] { return form }
            let text = Self.text(&kept, count: count)
            guard let made = make(text).map(Self.exact) else { return nil }
            kept.forms[key] = made
            if kept.standIn == nil, !kept.rebuilt, expand(made, count) == text {
                (kept.text, kept.standIn) = (nil, (key, expand))
            }
            return made
        }
    }

    /// The text, rebuilt from the form standing in for it if it was released.
    private static func text(_ kept: inout Kept, count: Int) -> [UInt8] {
        if let text = kept.text { return text }
        guard let standIn = kept.standIn, let form = kept.forms[standIn.key],
            let text = standIn.expand(form, count), text.count == count
        else {
            // The form expanded to these very bytes when it took their place; only a failed allocation in the
            // expander could get here.
            preconditionFailure("the bytes released for their compressed form could not be rebuilt")
        }
        (kept.text, kept.standIn, kept.rebuilt) = (text, nil, true)
        return text
    }
}
