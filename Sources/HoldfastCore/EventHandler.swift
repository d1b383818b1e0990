/// Something registered with an ``EventLoop`` for readiness events on one file descriptor.
///
/// All calls happen on the loop's thread. A handler is a class so the loop can keep it in its fd table and
/// call it without copying state.
public protocol EventHandler: AnyObject {
    /// The fd became ready. `readable` covers data, EOF and errors (a read then reports them);
    /// `writable` means the kernel accepts bytes again.
    func handleEvent(readable: Bool, writable: Bool)

    /// Called once before the loop next sleeps, after the handler asked with ``EventLoop/scheduleFlush(_:)``:
    /// the place to write everything queued during this iteration in one system call.
    func flush()
}

/// The readiness a handler wants to hear about.
public struct Interest: OptionSet, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Readable (data, EOF, error).
    public static let readable = Interest(rawValue: 1)
    /// Writable: register only while bytes wait to be written, or the loop spins.
    public static let writable = Interest(rawValue: 2)
}
