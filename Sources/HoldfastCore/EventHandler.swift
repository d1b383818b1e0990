/// Something registered with an ``EventLoop`` for readiness events on one file descriptor: subclass it and
/// override both methods.
///
/// All calls happen on the loop's thread. A handler is a class the loop knows by type, not a protocol, so the
/// loop can call it through the reference its fd table holds, without retaining it for each event: a class-bound
/// existential is retained around every call made through it.
open class EventHandler {
    public init() {}

    /// The fd became ready. `readable` covers data, EOF and errors (a read then reports them);
    /// `writable` means the kernel accepts bytes again.
    open func handleEvent(readable: Bool, writable: Bool) {}

    /// Called once before the loop next sleeps, after the handler asked with ``EventLoop/scheduleFlush(_:)``:
    /// the place to write everything queued during this iteration in one system call.
    open func flush() {}
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
