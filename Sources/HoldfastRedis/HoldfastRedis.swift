/// An asynchronous Redis client driven by Holdfast's own ``EventLoop``.
///
/// The wire protocol is hiredis's (Debian `libhiredis-dev`, 0.14): its async context is attached to the loop
/// through the five adapter hooks (`addRead`, `delRead`, `addWrite`, `delWrite`, `cleanup`), the way hiredis's own
/// ae and libevent adapters attach it to theirs. Readiness events call `redisAsyncHandleRead`/`Write`; commands
/// queued during one loop iteration are written together from the loop's flush pass, so pipelining needs nothing
/// more than issuing several commands before returning to the loop.
///
/// Lifecycle: create a ``RedisClient`` (commands) or a ``RedisSubscriber`` (pub/sub) for a ``RedisURL``, call
/// `start()` on the loop thread, watch ``RedisLinkState`` through `onStateChange` or the thread-safe `status`, and
/// `close()` when done. A lost connection is re-established with jittered exponential backoff (``RedisBackoff``);
/// the subscriber subscribes again to every channel it holds.
///
/// Threads: a client belongs to the loop it was created for. Every method except `status` must be called on that
/// loop's thread, and every callback (replies, messages, state changes) runs there.
///
/// Errors are ``RedisError`` values, never traps: a command issued while the link is down fails at once with
/// ``RedisError/notConnected``; one in flight when the link drops fails with ``RedisError/connectionLost`` (it may
/// or may not have run); an error reply is ``RedisError/server(_:)``.
///
/// TLS (`rediss://`) is refused: hiredis 0.14 has no TLS support (see docs/cluster.md).
enum HoldfastRedis {}
